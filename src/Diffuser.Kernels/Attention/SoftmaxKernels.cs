using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Row-wise softmax (device code, generic over the storage), one warp per row of <c>cols</c>: the maximum, the sum of
/// exp(x − max), then the normalised values, all in fp32. The attention of head dims the fused kernel does not cover
/// (the VAE's single 512-wide head) runs as GEMM → softmax → GEMM on it, fp32 scores giving fp16 probabilities for
/// fp16 attention (<c>TX</c> and <c>TY</c> the storage of scores and probabilities).
/// </summary>
public static class SoftmaxKernels
{
    public static void RowSoftmax<TX, TY>(TX x, TY y, int rows, int cols) where TX : struct, IElementView<TX> where TY : struct, IElementView<TY>
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
