namespace Diffuser.Kernels.Embedding;

/// <summary>
/// fp32 exp exactly as PyTorch's CPU kernels compute it (SLEEF's expf_u10 with fused multiply-adds, the AVX2 path).
/// It is not correctly rounded, and the difference matters: the timestep embedding multiplies exp's result by
/// t ≤ 1000, so one ulp of frequency moves sin/cos by 6e-5. Matching torch bit for bit keeps the UNet goldens exact.
/// </summary>
public static class TorchExp
{
    private const float Log2E = 1.442695040888963407359924681001892137426645954152985934135449406931f;
    private const float Ln2Upper = 0.693145751953125f;
    private const float Ln2Lower = 1.428606765330187045e-06f;

    public static float Exp(float d)
    {
        float q = MathF.Round(d * Log2E, MidpointRounding.ToEven);
        float s = MathF.FusedMultiplyAdd(q, -Ln2Upper, d);
        s = MathF.FusedMultiplyAdd(q, -Ln2Lower, s);
        float u = 0.000198527617612853646278381f;
        u = MathF.FusedMultiplyAdd(u, s, 0.00139304355252534151077271f);
        u = MathF.FusedMultiplyAdd(u, s, 0.00833336077630519866943359f);
        u = MathF.FusedMultiplyAdd(u, s, 0.0416664853692054748535156f);
        u = MathF.FusedMultiplyAdd(u, s, 0.166666671633720397949219f);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1f + MathF.FusedMultiplyAdd(s * s, u, s);
        if (d < -104f) return 0f;
        if (d > 104f) return float.PositiveInfinity;
        return MathF.ScaleB(u, (int)q);
    }
}
