using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Element-wise kernels (device code): grid-stride loops over the output, one element per step.</summary>
public static class ElementwiseKernels
{
    public static void Activate(ArrayView<float> x, ArrayView<float> y, int count, ActivationKind kind)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = ActivationMath.Apply(x[i], kind);
    }

    public static void Binary(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int count, BinaryOp op)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = BinaryMath.Apply(a[i], b[i], op);
    }

    /// <summary>y = clamp(scale·x + shift, min, max).</summary>
    public static void Affine(ArrayView<float> x, ArrayView<float> y, int count, float scale, float shift, float min, float max)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = MathF.Min(MathF.Max(scale * x[i] + shift, min), max);
    }

    /// <summary>y[n, c, p] = x[n, c, p] + bias[n·biasBatchStride + c].</summary>
    public static void AddChannelBias(ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y, int count, int channels, int spatial, int biasBatchStride)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int plane = i / spatial, n = plane / channels;
            y[i] = x[i] + bias[n * biasBatchStride + plane - n * channels];
        }
    }

    /// <summary>GEGLU over rows of 2·half: y[r, j] = x[r, j] · gelu(x[r, half + j]).</summary>
    public static void Geglu(ArrayView<float> x, ArrayView<float> y, int count, int half)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int row = i / half, j = i - row * half;
            y[i] = x[row * 2 * half + j] * ActivationMath.GeluErf(x[row * 2 * half + half + j]);
        }
    }
}
