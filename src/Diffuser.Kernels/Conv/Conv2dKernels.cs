using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Conv;

/// <summary>
/// Convolution as an implicit GEMM: rows are filters (K), columns are output pixels of the whole batch (N·OH·OW),
/// the reduction runs over C·R·S. Weight tiles are read as a k-contiguous matrix; input patches are gathered into
/// shared memory on the fly (no im2col buffer), consecutive threads reading consecutive pixels. Bias and an optional
/// residual (and a per-sample channel bias, the UNet's time embedding) are added in the store, or in
/// <see cref="ReduceSplits"/> when the reduction is split across groups.
/// The kernel size is specialised so that splitting a reduction index into (channel, row, column) divides by
/// constants.
/// </summary>
public static class Conv2dKernels
{
    /// <summary>Grid (pixel tiles, filter tiles, splits); with more than one split each writes raw sums for <see cref="ReduceSplits"/>.</summary>
    public static void Conv2d<T>(T x, T weight, T bias, T sampleBias, T residual, T y, ArrayView<float> workspace, Conv2dShape s,
        SplitK split, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols) where T : struct, IElementView<T>
    {
        var tileA = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        var tileB = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        int depth = s.C * kernelRows * kernelCols, pixels = s.N * s.OH * s.OW;
        int kBegin = Grid.IdxZ * split.Length, kEnd = XMath.Min(kBegin + split.Length, depth);
        int row0 = Grid.IdxY * TiledMatmul.Size, col0 = Grid.IdxX * TiledMatmul.Size;
        var filters = new MatrixOperand<T>(weight, s.K, depth, kContiguous: true);
        // TiledMatmul gives every thread one fixed pixel column when loading a column-contiguous operand.
        var patches = new PatchOperand<T>(x, s, kernelRows, kernelCols, col0 + Group.IdxX % TiledMatmul.Size);
        if (split.Count == 1)
        {
            var store = new ConvEpilogue<T>(y, bias, sampleBias, residual, s);
            TiledMatmul.Run(ref filters, true, ref patches, false, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
        else
        {
            var store = new PartialEpilogue(workspace, (long)Grid.IdxZ * s.K * pixels, s.K, pixels, chunkedRows: false);
            TiledMatmul.Run(ref filters, true, ref patches, false, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
    }

    /// <summary>Grid-stride over [filters, pixels]: adds the splits in order, then the biases and residual, into NCHW.</summary>
    public static void ReduceSplits<T>(ArrayView<float> workspace, T bias, T sampleBias, T residual, T y, Conv2dShape s, int splits)
        where T : struct, IElementView<T>
    {
        int pixels = s.N * s.OH * s.OW, total = s.K * pixels;
        var store = new ConvEpilogue<T>(y, bias, sampleBias, residual, s);
        for (int i = KernelLoops.GridStart; i < total; i += KernelLoops.GridStride)
        {
            float sum = 0f;
            for (int p = 0; p < splits; p++) sum += workspace[(long)p * total + i];
            store.Store(i / pixels, i % pixels, sum);
        }
    }
}
