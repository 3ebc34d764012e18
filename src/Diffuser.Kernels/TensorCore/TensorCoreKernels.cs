using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// GEMM and implicit-GEMM convolution on fp16 storage through <see cref="TensorCoreMatmul"/> (device code): the same
/// grids, shapes, splits and epilogues as <see cref="GemmKernels"/> and <see cref="Conv2dKernels"/>, except that a
/// split reduction is finished by its splits (<see cref="SplitReduction"/>) instead of a reduce kernel; 128×128
/// tiles of <see cref="TensorCoreLayout.Threads"/> threads with <see cref="TensorCoreLayout.SharedBytes"/> of dynamic
/// shared memory and no static shared memory (the PTX addresses the dynamic block from its start). <c>TM</c> is
/// <see cref="PtxWarpMma"/> on the GPU (<see cref="WarpGroupMma"/> on Hopper where asked for), <c>TC</c> how operands
/// with 16-byte rows reach shared memory (<see cref="AsyncCopies"/> by default), <c>TD</c> how the groups take their
/// pieces of the product (<see cref="GridDeal"/>, or <see cref="StreamKDeal"/> where the launcher's plan streams it).
/// The GEMM's result, bias and residual are <c>TO</c>: fp16, or fp32 where a product must not be rounded
/// (the scores of attention composed from GEMMs).
/// </summary>
public static class TensorCoreKernels
{
    /// <param name="addresses">The global addresses of a and b (<see cref="GlobalAddress"/>).</param>
    /// <param name="vectorA">1: A is k-contiguous and 16-byte aligned (see <see cref="HalfMatrixOperand{TC}"/>).</param>
    /// <param name="epilogue"><see cref="GemmShape.EpilogueFlags"/> (with a split reduction applied by its splits' claims).</param>
    public static void Gemm<TM, TC, TO, TD>(F16View a, F16View b, TO bias, TO residual, TO c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses, SpecializedValue<int> activation, SpecializedValue<int> geglu, SpecializedValue<int> vectorA,
        SpecializedValue<int> vectorB, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TO : struct, IElementView<TO> where TD : struct, ITileDeal
    {
        var mma = default(TM);
        mma.Declare();
        var shared = SharedMemory.GetDynamic<Half8>();
        var schedule = reduction.Schedule;
        var flagged = s.WithEpilogueFlags(epilogue);
        bool chunked = flagged.ChunkedStores != 0;   // product columns a multiple of 8
        // Split (or piece) k's raw sums of batch entry b: [M, product columns] at (k·Batch + b)·size.
        int size = s.M * s.ProductColumns, splitStride = s.Batch * size;
        var deal = default(TD);
        for (var piece = deal.First(reduction, s.K); piece.Count > 0; piece = deal.Next(reduction, piece, s.K))
        {
            int batch = piece.Batch, row0 = piece.Row * TensorCoreLayout.Size, col0 = piece.Column * TensorCoreLayout.Size, pieces = deal.Pieces(reduction, piece);
            var opA = new HalfMatrixOperand<TC>(a.Bits, addresses.A, batch * s.BatchStrideA, s.M, s.K, s.TransA == 0, vectorA.Value != 0);
            var opB = new HalfMatrixOperand<TC>(b.Bits, addresses.B, batch * s.BatchStrideB, s.BColumns, s.K, s.TransB != 0, vectorB.Value != 0);
            if (geglu.Value != 0)
            {
                var gated = new GatedHalfColumns<TC>(opB, s);
                TensorCoreMatmul.Accumulate(ref opA, ref gated, ref mma, piece.KBegin, piece.KEnd, row0, col0, s.M, shared);
            }
            else TensorCoreMatmul.Accumulate(ref opA, ref opB, ref mma, piece.KBegin, piece.KEnd, row0, col0, s.M, shared);

            int start = batch * size;
            if (pieces > 1)
            {
                var partial = new PartialEpilogue(reduction.Workspace, piece.Index * splitStride + start, s.M, s.ProductColumns, chunked);
                TensorCoreMatmul.Store(ref mma, ref partial, row0, col0, shared);
            }
            // The epilogue made after the partial sums' stores: unsplit, the mma's sums; split, the sums of the splits.
            var store = GemmEpilogue<TO>.ForBatch(c, bias, residual, flagged, batch, (ActivationKind)activation.Value);
            var slot = shared.Cast<int>();
            if (pieces > 1 && geglu.Value != 0)
                TensorCoreMatmul.StoreGatedSplitSums(reduction, store, schedule.Tile(piece), pieces, start, splitStride, s.M, s.ProductColumns, row0, col0, chunked, slot);
            else if (pieces > 1)
                TensorCoreMatmul.StoreSplitSums(reduction, store, schedule.Tile(piece), pieces, start, splitStride, s.M, s.ProductColumns, row0, col0, chunked, slot);
            else if (geglu.Value != 0) TensorCoreMatmul.StoreGated(ref mma, ref store, row0, col0, shared);
            else TensorCoreMatmul.Store(ref mma, ref store, row0, col0, shared);
        }
    }

    /// <param name="stagePlane">The input's <see cref="HalfPatchOperand.StagePlane"/>.</param>
    /// <param name="upsample"><see cref="Conv2dShape.Upsample"/>: x is read upsampled.</param>
    /// <param name="epilogue"><see cref="Conv2dShape.EpilogueFlags"/> (with a split reduction applied by its splits' claims).</param>
    /// <param name="weight">Filters packed as a <see cref="TapMajorFilter"/> (16-byte aligned: rows load 16 bytes at a time).</param>
    /// <param name="weightAddress">The global address of <paramref name="weight"/> (<see cref="GlobalAddress"/>).</param>
    /// <param name="zeros">With a <paramref name="stagePlane"/>, <see cref="HalfPatchOperand.ZeroLength"/> zeros or more.</param>
    public static void Conv2d<TM, TC, TD>(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y, F16View zeros,
        SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> stagePlane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TD : struct, ITileDeal
    {
        var patches = new DensePatches(x, s, kernelRows, kernelCols, stagePlane, upsample, zeros);
        Convolve<TM, TC, TD, HalfPatchOperand, DensePatches>(ref patches, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, kernelRows * kernelCols, epilogue);
    }

    /// <summary>
    /// As <see cref="Conv2d{TM, TC, TD}"/> of an image in the <see cref="ChannelBlocks"/> layout (channels a multiple of 32:
    /// <see cref="BlockedPatchOperand{TC}.Supports"/>), whose stages are copied as the filters' are.
    /// </summary>
    /// <param name="xAddress">The global address of <paramref name="x"/> (<see cref="GlobalAddress"/>).</param>
    /// <param name="plane">x's H·W as stored (<see cref="Conv2dShape.SourcePlane"/>).</param>
    /// <param name="upsample"><see cref="Conv2dShape.Upsample"/>: x is read upsampled.</param>
    public static void Conv2dBlocked<TM, TC, TD>(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols, SpecializedValue<int> plane,
        SpecializedValue<int> upsample, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TD : struct, ITileDeal
    {
        var patches = new BlockedPatches<TC>(x, xAddress, s, kernelRows, kernelCols, plane, upsample);
        Convolve<TM, TC, TD, BlockedPatchOperand<TC>, BlockedPatches<TC>>(ref patches, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, kernelRows * kernelCols, epilogue);
    }

    /// <summary>The patches of a tile's pixels as an operand: along mn every thread loads one fixed pixel column, so each binds its own patch.</summary>
    private interface IPatches<TP> where TP : struct, IHalfTileOperand
    {
        /// <summary>The operand of the tile whose first pixel is <paramref name="pixel0"/>.</summary>
        TP Of(int pixel0);
    }

    /// <summary>This thread's output pixel in the tile whose first is <paramref name="pixel0"/>: a tile's pixels, one a thread.</summary>
    private static int Pixel(int pixel0) => pixel0 + (Group.IdxX & (TensorCoreLayout.Size - 1));

    private readonly struct DensePatches(F16View x, Conv2dShape s, int kernelRows, int kernelCols, int stagePlane, int upsample, F16View zeros) : IPatches<HalfPatchOperand>
    {
        public HalfPatchOperand Of(int pixel0) => new(x, s, kernelRows, kernelCols, Pixel(pixel0), stagePlane, upsample, zeros);
    }

    private readonly struct BlockedPatches<TC>(F16View x, long xAddress, Conv2dShape s, int kernelRows, int kernelCols, int plane, int upsample)
        : IPatches<BlockedPatchOperand<TC>> where TC : struct, IOperandCopies
    {
        public BlockedPatchOperand<TC> Of(int pixel0) => new(x, xAddress, s, kernelRows, kernelCols, Pixel(pixel0), plane, upsample);
    }

    /// <summary>The implicit-GEMM convolution of the patches by the packed filters, and its epilogue, piece by piece.</summary>
    private static void Convolve<TM, TC, TD, TP, TS>(ref TS source, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s, int taps, SpecializedValue<int> epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TD : struct, ITileDeal where TP : struct, IHalfTileOperand where TS : struct, IPatches<TP>
    {
        var mma = default(TM);
        mma.Declare();
        var shared = SharedMemory.GetDynamic<Half8>();
        int depth = taps * TapMajorFilter.Channels(s.C), pixels = s.N * s.OH * s.OW;
        var schedule = reduction.Schedule;
        var flagged = s.WithEpilogueFlags(epilogue);
        bool chunked = flagged.ChunkedStores != 0;   // pixels a multiple of 8
        int splitStride = s.K * pixels;   // split (or piece) k's raw sums: [filters, pixels] at k·K·pixels
        var deal = default(TD);
        for (var piece = deal.First(reduction, depth); piece.Count > 0; piece = deal.Next(reduction, piece, depth))
        {
            int row0 = piece.Row * TensorCoreLayout.Size, col0 = piece.Column * TensorCoreLayout.Size, pieces = deal.Pieces(reduction, piece);
            var patches = source.Of(col0);
            var filters = new HalfMatrixOperand<TC>(weight.Bits, weightAddress, 0, s.K, depth, kContiguous: true, vector: true);
            TensorCoreMatmul.Accumulate(ref filters, ref patches, ref mma, piece.KBegin, piece.KEnd, row0, col0, s.K, shared);
            if (pieces > 1)
            {
                var partial = new PartialEpilogue(reduction.Workspace, piece.Index * splitStride, s.K, pixels, chunked);
                TensorCoreMatmul.Store(ref mma, ref partial, row0, col0, shared);
            }
            // The epilogue made after the partial sums' stores: unsplit, the mma's sums; split, the sums of the splits.
            var store = new ConvEpilogue<F16View>(y, bias, sampleBias, residual, flagged);
            if (pieces > 1)
                TensorCoreMatmul.StoreSplitSums(reduction, store, schedule.Tile(piece), pieces, 0, splitStride, s.K, pixels, row0, col0, chunked, shared.Cast<int>());
            else TensorCoreMatmul.Store(ref mma, ref store, row0, col0, shared);
        }
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
    /// <see cref="ChannelBlocks"/> layout [N, C/8, plane, 8] that <see cref="Conv2dBlocked{TM, TC, TD}"/> copies by cp.async
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
