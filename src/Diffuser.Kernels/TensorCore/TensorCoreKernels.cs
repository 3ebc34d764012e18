using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// GEMM and implicit-GEMM convolution on fp16 storage through <see cref="TensorCoreMatmul"/> (device code): the same
/// grids, shapes, splits and epilogues as <see cref="GemmKernels"/> and <see cref="Conv2dKernels"/>, except that a
/// split reduction is finished by its splits (<see cref="SplitReduction"/>) instead of a reduce kernel; 128×128
/// tiles of <see cref="TensorCoreLayout.Threads"/> threads with <see cref="TensorCoreLayout.SharedBytes"/> of dynamic
/// shared memory and no static shared memory (the PTX addresses the dynamic block from its start). <c>TM</c> is
/// <see cref="PtxWarpMma"/> on the GPU (<see cref="WarpGroupMma"/> on Hopper where asked for), <c>TC</c> how operands
/// with 16-byte rows reach shared memory (<see cref="AsyncCopies"/> by default).
/// The GEMM's result, bias and residual are <c>TO</c>: fp16, or fp32 where a product must not be rounded
/// (the scores of attention composed from GEMMs).
/// </summary>
public static class TensorCoreKernels
{
    /// <param name="addresses">The global addresses of a and b (<see cref="GlobalAddress"/>).</param>
    /// <param name="vectorA">1: A is k-contiguous and 16-byte aligned (see <see cref="HalfMatrixOperand{TC}"/>).</param>
    /// <param name="epilogue"><see cref="GemmShape.EpilogueFlags"/> (with a split reduction applied by its splits' claims).</param>
    public static void Gemm<TM, TC, TO>(F16View a, F16View b, TO bias, TO residual, TO c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses, SpecializedValue<int> activation, SpecializedValue<int> geglu, SpecializedValue<int> vectorA,
        SpecializedValue<int> vectorB, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TO : struct, IElementView<TO>
    {
        var mma = default(TM);
        mma.Declare();
        var shared = SharedMemory.GetDynamic<Half8>();
        var split = reduction.Split;
        int batch = Grid.IdxZ / split.Count, part = Grid.IdxZ - batch * split.Count;
        int kBegin = part * split.Length, kEnd = XMath.Min(kBegin + split.Length, s.K);
        int row0 = Grid.IdxY * TensorCoreLayout.Size, col0 = Grid.IdxX * TensorCoreLayout.Size;
        var opA = new HalfMatrixOperand<TC>(a.Bits, addresses.A, batch * s.BatchStrideA, s.M, s.K, s.TransA == 0, vectorA.Value != 0);
        var opB = new HalfMatrixOperand<TC>(b.Bits, addresses.B, batch * s.BatchStrideB, s.BColumns, s.K, s.TransB != 0, vectorB.Value != 0);
        if (geglu.Value != 0)
        {
            var gated = new GatedHalfColumns<TC>(opB, s);
            TensorCoreMatmul.Accumulate(ref opA, ref gated, ref mma, kBegin, kEnd, row0, col0, s.M, shared);
        }
        else TensorCoreMatmul.Accumulate(ref opA, ref opB, ref mma, kBegin, kEnd, row0, col0, s.M, shared);

        // Split k's raw sums of batch entry b: [M, product columns] at (k·Batch + b)·size.
        int size = s.M * s.ProductColumns, start = batch * size, splitStride = s.Batch * size;
        var flagged = s.WithEpilogueFlags(epilogue);
        bool chunked = flagged.ChunkedStores != 0;   // product columns a multiple of 8
        if (split.Count > 1)
        {
            var partial = new PartialEpilogue(reduction.Workspace, part * splitStride + start, s.M, s.ProductColumns, chunked);
            TensorCoreMatmul.Store(ref mma, ref partial, row0, col0, shared);
        }
        // The epilogue made after the partial sums' stores: unsplit, the mma's sums; split, the sums of the splits.
        var store = GemmEpilogue<TO>.ForBatch(c, bias, residual, flagged, batch, (ActivationKind)activation.Value);
        if (split.Count > 1)
        {
            int tile = (batch * Grid.DimY + Grid.IdxY) * Grid.DimX + Grid.IdxX;
            var slot = shared.Cast<int>();
            if (geglu.Value != 0) TensorCoreMatmul.StoreGatedSplitSums(reduction, store, tile, start, splitStride, s.M, s.ProductColumns, row0, col0, chunked, slot);
            else TensorCoreMatmul.StoreSplitSums(reduction, store, tile, start, splitStride, s.M, s.ProductColumns, row0, col0, chunked, slot);
        }
        else if (geglu.Value != 0) TensorCoreMatmul.StoreGated(ref mma, ref store, row0, col0, shared);
        else TensorCoreMatmul.Store(ref mma, ref store, row0, col0, shared);
    }

    /// <param name="stagePlane">The input's <see cref="HalfPatchOperand.StagePlane"/>.</param>
    /// <param name="upsample"><see cref="Conv2dShape.Upsample"/>: x is read upsampled.</param>
    /// <param name="epilogue"><see cref="Conv2dShape.EpilogueFlags"/> (with a split reduction applied by its splits' claims).</param>
    /// <param name="weight">Filters packed as a <see cref="TapMajorFilter"/> (16-byte aligned: rows load 16 bytes at a time).</param>
    /// <param name="weightAddress">The global address of <paramref name="weight"/> (<see cref="GlobalAddress"/>).</param>
    /// <param name="zeros">With a <paramref name="stagePlane"/>, <see cref="HalfPatchOperand.ZeroLength"/> zeros or more.</param>
    public static void Conv2d<TM, TC>(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y, F16View zeros,
        SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> stagePlane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies
    {
        // Along mn every thread loads one fixed pixel column, so each binds its own patch.
        var patches = new HalfPatchOperand(x, s, kernelRows, kernelCols, Pixel(), stagePlane, upsample, zeros);
        Convolve<TM, TC, HalfPatchOperand>(ref patches, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, kernelRows * kernelCols, epilogue);
    }

    /// <summary>
    /// As <see cref="Conv2d{TM, TC}"/> of an image in the <see cref="ChannelBlocks"/> layout (channels a multiple of 32:
    /// <see cref="BlockedPatchOperand{TC}.Supports"/>), whose stages are copied as the filters' are.
    /// </summary>
    /// <param name="xAddress">The global address of <paramref name="x"/> (<see cref="GlobalAddress"/>).</param>
    /// <param name="plane">x's H·W as stored (<see cref="Conv2dShape.SourcePlane"/>).</param>
    /// <param name="upsample"><see cref="Conv2dShape.Upsample"/>: x is read upsampled.</param>
    public static void Conv2dBlocked<TM, TC>(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols, SpecializedValue<int> plane,
        SpecializedValue<int> upsample, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies
    {
        var patches = new BlockedPatchOperand<TC>(x, xAddress, s, kernelRows, kernelCols, Pixel(), plane, upsample);
        Convolve<TM, TC, BlockedPatchOperand<TC>>(ref patches, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, kernelRows * kernelCols, epilogue);
    }

    /// <summary>The output pixel of this thread's patch column: a tile's pixels, one a thread.</summary>
    private static int Pixel() => Grid.IdxX * TensorCoreLayout.Size + (Group.IdxX & (TensorCoreLayout.Size - 1));

    /// <summary>The implicit-GEMM convolution of <paramref name="patches"/> by the packed filters, and its epilogue.</summary>
    private static void Convolve<TM, TC, TP>(ref TP patches, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s, int taps, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TP : struct, IHalfTileOperand
    {
        var mma = default(TM);
        mma.Declare();
        var shared = SharedMemory.GetDynamic<Half8>();
        var split = reduction.Split;
        int depth = taps * TapMajorFilter.Channels(s.C), pixels = s.N * s.OH * s.OW;
        int kBegin = Grid.IdxZ * split.Length, kEnd = XMath.Min(kBegin + split.Length, depth);
        int row0 = Grid.IdxY * TensorCoreLayout.Size, col0 = Grid.IdxX * TensorCoreLayout.Size;
        var filters = new HalfMatrixOperand<TC>(weight.Bits, weightAddress, 0, s.K, depth, kContiguous: true, vector: true);
        TensorCoreMatmul.Accumulate(ref filters, ref patches, ref mma, kBegin, kEnd, row0, col0, s.K, shared);
        // Split k's raw sums: [filters, pixels] at k·K·pixels.
        int splitStride = s.K * pixels;
        var flagged = s.WithEpilogueFlags(epilogue);
        bool chunked = flagged.ChunkedStores != 0;   // pixels a multiple of 8
        if (split.Count > 1)
        {
            var partial = new PartialEpilogue(reduction.Workspace, Grid.IdxZ * splitStride, s.K, pixels, chunked);
            TensorCoreMatmul.Store(ref mma, ref partial, row0, col0, shared);
        }
        // The epilogue made after the partial sums' stores: unsplit, the mma's sums; split, the sums of the splits.
        var store = new ConvEpilogue<F16View>(y, bias, sampleBias, residual, flagged);
        if (split.Count > 1)
            TensorCoreMatmul.StoreSplitSums(reduction, store, Grid.IdxY * Grid.DimX + Grid.IdxX, 0, splitStride, s.K, pixels, row0, col0, chunked, shared.Cast<int>());
        else TensorCoreMatmul.Store(ref mma, ref store, row0, col0, shared);
    }

    /// <summary>Grid-stride: packs PyTorch's [K, C, R·S] filters as a <see cref="TapMajorFilter"/> [K, R·S, Cp].</summary>
    public static void PackFilter(F16View weight, F16View packed, int filters, int channels, int taps)
    {
        int paddedChannels = TapMajorFilter.Channels(channels), total = filters * taps * paddedChannels;
        for (int i = KernelLoops.GridStart; i < total; i += KernelLoops.GridStride)
        {
            int row = i / paddedChannels, c = i - row * paddedChannels, f = row / taps, tap = row - f * taps;
            packed.Bits[i] = c < channels ? weight.Bits[(f * channels + c) * taps + tap] : (ushort)0;
        }
    }

    /// <summary>
    /// Grid-stride over the blocks of 8 channels of a pixel: copies the dense image [N, C, plane] into the
    /// <see cref="ChannelBlocks"/> layout [N, C/8, plane, 8] that <see cref="Conv2dBlocked{TM, TC}"/> copies by cp.async
    /// (16-byte aligned). Block i = (n·C/8 + b)·plane + p holds channels 8b … 8b + 7 of pixel p, a plane apart in the
    /// dense image from (n·C/8 + b)·8·plane + p: consecutive threads read consecutive pixels and store 16 bytes each.
    /// </summary>
    public static void ToChannelBlocks(F16View dense, F16View blocked, int blocks, int plane)
    {
        var bits = dense.Bits;
        var stored = blocked.Bits.Cast<Half8>();
        for (int i = KernelLoops.GridStart; i < blocks; i += KernelLoops.GridStride)
        {
            int row = i / plane, first = (row * ChannelBlocks.Width) * plane + (i - row * plane);
            stored[i] = Half8.Pack(bits[first], bits[first + plane], bits[first + 2 * plane], bits[first + 3 * plane],
                bits[first + 4 * plane], bits[first + 5 * plane], bits[first + 6 * plane], bits[first + 7 * plane]);
        }
    }
}
