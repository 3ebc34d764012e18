using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Row-wise softmax (device code, generic over the storage), one warp per row of <c>cols</c>: the maximum, the sum of
/// exp(x − max), then the normalised values, all in fp32. The attention of head dims the fused kernel does not cover
/// (the VAE's single 512-wide head) runs as GEMM → softmax → GEMM on it.
/// </summary>
public static class SoftmaxKernels
{
    public static void RowSoftmax<T>(T x, T y, int rows, int cols) where T : struct, IElementView<T>
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= rows) return;
        int start = row * cols;
        float max = float.NegativeInfinity;
        for (int i = Warp.LaneIdx; i < cols; i += Warp.WarpSize) max = XMath.Max(max, x.Load(start + i));
        max = Reductions.WarpMax(max, Warp.WarpSize);
        float sum = 0f;
        for (int i = Warp.LaneIdx; i < cols; i += Warp.WarpSize) sum += MathF.Exp(x.Load(start + i) - max);
        float inverse = 1f / Reductions.WarpSum(sum, Warp.WarpSize);
        for (int i = Warp.LaneIdx; i < cols; i += Warp.WarpSize) y.Store(start + i, MathF.Exp(x.Load(start + i) - max) * inverse);
    }
}
