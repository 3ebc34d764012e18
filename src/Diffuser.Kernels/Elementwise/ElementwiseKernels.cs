using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Element-wise kernels (device code), generic over the storage: grid-stride loops over the output, one element per step.</summary>
public static class ElementwiseKernels
{
    public static void Activate<T>(T x, T y, int count, ActivationKind kind) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y.Store(i, ActivationMath.Apply(x.Load(i), kind));
    }

    public static void Binary<T>(T a, T b, T y, int count, BinaryOp op) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y.Store(i, BinaryMath.Apply(a.Load(i), b.Load(i), op));
    }

    /// <summary>y = clamp(scale·x + shift, min, max).</summary>
    public static void Affine<T>(T x, T y, int count, float scale, float shift, float min, float max) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y.Store(i, MathF.Min(MathF.Max(scale * x.Load(i) + shift, min), max));
    }

    /// <summary>y[n, c, p] = x[n, c, p] + bias[n·biasBatchStride + c].</summary>
    public static void AddChannelBias<T>(T x, T bias, T y, int count, int channels, int spatial, int biasBatchStride) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int plane = i / spatial, n = plane / channels;
            y.Store(i, x.Load(i) + bias.Load(n * biasBatchStride + plane - n * channels));
        }
    }

    /// <summary>GEGLU over rows of 2·half: y[r, j] = x[r, j] · gelu(x[r, half + j]).</summary>
    public static void Geglu<T>(T x, T y, int count, int half) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int row = i / half, j = i - row * half;
            y.Store(i, x.Load(row * 2 * half + j) * ActivationMath.GeluErf(x.Load(row * 2 * half + half + j)));
        }
    }
}
