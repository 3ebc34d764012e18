using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Attention;

/// <summary>Up to 10 chunks of 16 head dimensions held in registers (head dims up to 160); chunks past the count stay 0.</summary>
public struct HeadChunks
{
    public float V0, V1, V2, V3, V4, V5, V6, V7, V8, V9;

    /// <summary>Loads s[offset + 16c] for c &lt; chunks.</summary>
    public static HeadChunks Load(ArrayView<float> s, int offset, int chunks)
    {
        var r = default(HeadChunks);
        r.V0 = s[offset];
        if (chunks > 1) r.V1 = s[offset + 16];
        if (chunks > 2) r.V2 = s[offset + 32];
        if (chunks > 3) r.V3 = s[offset + 48];
        if (chunks > 4) r.V4 = s[offset + 64];
        if (chunks > 5) r.V5 = s[offset + 80];
        if (chunks > 6) r.V6 = s[offset + 96];
        if (chunks > 7) r.V7 = s[offset + 112];
        if (chunks > 8) r.V8 = s[offset + 128];
        if (chunks > 9) r.V9 = s[offset + 144];
        return r;
    }

    public void Scale(float f)
    {
        V0 *= f; V1 *= f; V2 *= f; V3 *= f; V4 *= f; V5 *= f; V6 *= f; V7 *= f; V8 *= f; V9 *= f;
    }

    /// <summary>this += p · v.</summary>
    public void Fma(float p, in HeadChunks v)
    {
        V0 += p * v.V0; V1 += p * v.V1; V2 += p * v.V2; V3 += p * v.V3; V4 += p * v.V4;
        V5 += p * v.V5; V6 += p * v.V6; V7 += p * v.V7; V8 += p * v.V8; V9 += p * v.V9;
    }

    /// <summary>Writes scale·V_c to o[offset + 16c] for every chunk whose dimension 16c is below <paramref name="limit"/>.</summary>
    public readonly void Store<T>(T o, int offset, float scale, int limit) where T : struct, IElementView<T>
    {
        if (limit > 0) o.Store(offset, V0 * scale);
        if (limit > 16) o.Store(offset + 16, V1 * scale);
        if (limit > 32) o.Store(offset + 32, V2 * scale);
        if (limit > 48) o.Store(offset + 48, V3 * scale);
        if (limit > 64) o.Store(offset + 64, V4 * scale);
        if (limit > 80) o.Store(offset + 80, V5 * scale);
        if (limit > 96) o.Store(offset + 96, V6 * scale);
        if (limit > 112) o.Store(offset + 112, V7 * scale);
        if (limit > 128) o.Store(offset + 128, V8 * scale);
        if (limit > 144) o.Store(offset + 144, V9 * scale);
    }
}

/// <summary>
/// The online-softmax state of one query row as one thread of its 16-lane team holds it: running max and sum,
/// this lane's output chunks, and this lane's two scores of the current key tile (keys lane and lane + 16).
/// </summary>
public struct AttentionRow
{
    public float Max, Sum, Score0, Score1;
    public HeadChunks Output;

    public static AttentionRow Start() => new() { Max = float.NegativeInfinity };

    public void AddScores(float q, float k0, float k1)
    {
        Score0 += q * k0;
        Score1 += q * k1;
    }

    /// <summary>
    /// Turns this tile's scores into probabilities (scaled, masked, max-subtracted), rescales the running sum and
    /// rescales the output accumulated so far; the probabilities go to p[key·ld + localRow].
    /// Every lane of the 16-lane team must call it (warp shuffles).
    /// </summary>
    public void Softmax(int query, int key0, int lane, in AttentionShape s, ArrayView<float> p, int ld, int localRow)
    {
        int k0 = key0 + lane, k1 = k0 + 16;
        float s0 = k0 < s.KeyLength && (s.Causal == 0 || k0 <= query) ? Score0 * s.Scale : float.NegativeInfinity;
        float s1 = k1 < s.KeyLength && (s.Causal == 0 || k1 <= query) ? Score1 * s.Scale : float.NegativeInfinity;
        float tileMax = Reductions.WarpMax(XMath.Max(s0, s1), 16);
        float max = XMath.Max(Max, tileMax);
        float rescale = MathF.Exp(Max - max);
        float p0 = MathF.Exp(s0 - max), p1 = MathF.Exp(s1 - max);
        Sum = Sum * rescale + Reductions.WarpSum(p0 + p1, 16);
        Max = max;
        Score0 = 0f;
        Score1 = 0f;
        p[lane * ld + localRow] = p0;
        p[(lane + 16) * ld + localRow] = p1;
        Output.Scale(rescale);
    }
}
