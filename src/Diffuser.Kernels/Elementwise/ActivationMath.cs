namespace Diffuser.Kernels.Elementwise;

/// <summary>
/// Scalar definitions of the activations in fp32, shared by the managed implementation and the ILGPU kernels
/// (ILGPU compiles these methods into device code, so they use only <see cref="MathF"/> and plain arithmetic).
/// </summary>
public static class ActivationMath
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float SqrtTwoOverPi = 0.79788456080286536f;

    public static float Apply(float x, ActivationKind kind) => kind switch
    {
        ActivationKind.Silu => Silu(x),
        ActivationKind.GeluErf => GeluErf(x),
        ActivationKind.GeluTanh => GeluTanh(x),
        ActivationKind.QuickGelu => x * Sigmoid(1.702f * x),
        ActivationKind.Relu => x > 0f ? x : 0f,
        ActivationKind.Sigmoid => Sigmoid(x),
        ActivationKind.Tanh => Tanh(x),
        ActivationKind.Exp => MathF.Exp(x),
        _ => x,
    };

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    public static float Silu(float x) => x / (1f + MathF.Exp(-x));

    public static float GeluErf(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    public static float GeluTanh(float x) => 0.5f * x * (1f + Tanh(SqrtTwoOverPi * (x + 0.044715f * x * x * x)));

    /// <summary>
    /// tanh in fp32 built from exp alone, because ILGPU lowers <see cref="MathF.Tanh"/> on CUDA to tanh.approx
    /// (relative error ~5e-4): an odd polynomial below 0.625 (the Cephes tanhf coefficients), 1 − 2/(e^{2|x|} + 1)
    /// above it. Within 2 ulp of the true value.
    /// </summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        if (a < 0.625f)
        {
            float z = x * x;
            float p = -5.70498872745e-3f;
            p = p * z + 2.06390887954e-2f;
            p = p * z - 5.37397155531e-2f;
            p = p * z + 1.33314422036e-1f;
            p = p * z - 3.33332819422e-1f;
            return p * z * x + x;
        }
        float r = 1f - 2f / (MathF.Exp(2f * a) + 1f);
        return x < 0f ? -r : r;
    }

    /// <summary>
    /// erf in fp32 with a maximum error of about 1 ulp: a polynomial in x² for |x| &lt; 0.921875, otherwise
    /// 1 − exp(polynomial) (the split and coefficients follow the single-precision erff of CUDA's libdevice family).
    /// </summary>
    public static float Erf(float x)
    {
        float a = MathF.Abs(x);
        if (a < 0.921875f)
        {
            float s = x * x;
            float r = -5.96761703e-4f;
            r = r * s + 4.99119423e-3f;
            r = r * s - 2.67681349e-2f;
            r = r * s + 1.12819925e-1f;
            r = r * s - 3.76125336e-1f;
            r = r * s + 1.28379166e-1f;
            return r * x + x;
        }
        else
        {
            float r = 1.72948930e-5f;
            r = r * a - 3.83208680e-4f;
            r = r * a + 3.88393435e-3f;
            r = r * a - 2.42545605e-2f;
            r = r * a + 1.06777847e-1f;
            r = r * a + 6.34846687e-1f;
            r = r * a + 1.28717512e-1f;
            r = r * a + a;
            float e = 1f - MathF.Exp(-r);
            return x < 0f ? -e : e;
        }
    }
}
