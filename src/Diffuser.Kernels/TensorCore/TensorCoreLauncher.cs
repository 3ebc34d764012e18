using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// Loads the tensor-core GEMM and convolution once for an accelerator, on first use (<typeparamref name="TM"/>: the PTX tensor cores,
/// or their emulation on ILGPU's CPU accelerator for tests; <typeparamref name="TR"/>: the warps that compute products
/// of at most 16 rows, on a tile's first m16 tile (<see cref="FirstRowsMma{TM}"/>); <typeparamref name="TC"/>: cp.async
/// or register copies of aligned operands), with the counters by which a split reduction's splits finish it
/// (<see cref="SplitReduction"/>). Kernels of Hopper's warp-group instructions load as PTX for sm_90a (<see cref="Sm90aKernels"/>).
/// </summary>
public sealed class TensorCoreLauncher<TM, TR, TC> where TM : struct, IWarpMma where TR : struct, IWarpMma where TC : struct, IOperandCopies
{
    private readonly Accelerator _accelerator;
    private readonly ByRows<GemmKernel<F16View>> _gemm;
    private readonly ByRows<GemmKernel<F32View>> _gemmToSingle;
    private readonly ByRows<ConvKernel> _conv;
    private readonly ByRows<BlockedConvKernel> _blockedConv;
    private readonly Action<KernelConfig, F16View, F16View, int, int, int> _packFilter;
    private readonly Action<KernelConfig, F16View, F16View, int, int> _toChannelBlocks;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _tileCounters;
    private MemoryBuffer1D<ushort, Stride1D.Dense>? _zeros;
    private readonly bool _splitK;
    private readonly int _polls;

    /// <param name="splitK">Whether products with fewer tiles than multiprocessors split their reduction (else one group per tile).</param>
    /// <param name="sharedSplitSums">
    /// Whether a split tile's splits wait for each other and share its sums (else none waits, and the last to arrive
    /// adds them alone: <see cref="SplitReduction.Polls"/> 0).
    /// </param>
    public TensorCoreLauncher(Accelerator accelerator, bool splitK = true, bool sharedSplitSums = true)
    {
        _accelerator = accelerator;
        _splitK = splitK;
        _polls = sharedSplitSums ? SplitReduction.PollsOn(accelerator.AcceleratorType) : 0;
        _gemm = new(() => LoadGemm<TM, F16View>(accelerator), () => LoadGemm<FirstRowsMma<TR>, F16View>(accelerator));
        _gemmToSingle = new(() => LoadGemm<TM, F32View>(accelerator), () => LoadGemm<FirstRowsMma<TR>, F32View>(accelerator));   // composed attention's
        _conv = new(() => LoadConv<TM>(accelerator), () => LoadConv<FirstRowsMma<TR>>(accelerator));
        _blockedConv = new(() => LoadBlockedConv<TM>(accelerator), () => LoadBlockedConv<FirstRowsMma<TR>>(accelerator));
        _packFilter = accelerator.LoadStreamKernel<F16View, F16View, int, int, int>(TensorCoreKernels.PackFilter);
        _toChannelBlocks = accelerator.LoadStreamKernel<F16View, F16View, int, int>(TensorCoreKernels.ToChannelBlocks);
        // A product splits only when it has fewer tiles than multiprocessors (SplitK.Choose): a counter per multiprocessor.
        _tileCounters = accelerator.Allocate1D<int>(Math.Max(accelerator.NumMultiprocessors, 1));
        _tileCounters.MemSetToZero();
    }

    /// <summary>The tensor-core GEMM with its result, bias and residual stored as <typeparamref name="TO"/>.</summary>
    private delegate void GemmKernel<TO>(AcceleratorStream stream, KernelConfig config, F16View a, F16View b, TO bias, TO residual, TO c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses, SpecializedValue<int> activation, SpecializedValue<int> geglu, SpecializedValue<int> vectorA,
        SpecializedValue<int> vectorB, SpecializedValue<int> epilogue) where TO : struct, IElementView<TO>;

    /// <summary>
    /// A tensor-core kernel for products of any number of rows, and its variant for at most 16 (<see cref="FirstRowsMma{TM}"/>:
    /// the UNet's and the VAE's conv_out, the time embedding's MLP at batch 2), each loaded on first use.
    /// </summary>
    private sealed class ByRows<TK>(Func<TK> whole, Func<TK> firstRows)
    {
        private readonly Lazy<TK> _whole = new(whole), _firstRows = new(firstRows);

        public TK For(int rows) => FirstRows(rows) ? _firstRows.Value : _whole.Value;
    }

    private static bool FirstRows(int rows) => rows <= FirstRowsMma<TR>.Rows;

    private static GemmKernel<TO> LoadGemm<TW, TO>(Accelerator accelerator) where TW : struct, IWarpMma where TO : struct, IElementView<TO> =>
        Load<GemmKernel<TO>, TW>(accelerator, nameof(TensorCoreKernels.Gemm), typeof(TW), typeof(TC), typeof(TO));

    /// <summary>The tensor-core convolution as <see cref="LoadConv{TW}"/> loads it for one kind of warp.</summary>
    private delegate void ConvKernel(AcceleratorStream stream, KernelConfig config, F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual,
        F16View y, F16View zeros, SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> stagePlane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue);

    private static ConvKernel LoadConv<TW>(Accelerator accelerator) where TW : struct, IWarpMma =>
        Load<ConvKernel, TW>(accelerator, nameof(TensorCoreKernels.Conv2d), typeof(TW), typeof(TC));

    /// <summary>The tensor-core convolution of a channel-blocked image as <see cref="LoadBlockedConv{TW}"/> loads it for one kind of warp.</summary>
    private delegate void BlockedConvKernel(AcceleratorStream stream, KernelConfig config, F16View x, long xAddress, F16View weight, long weightAddress, F16View bias,
        F16View sampleBias, F16View residual, F16View y, SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> plane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue);

    private static BlockedConvKernel LoadBlockedConv<TW>(Accelerator accelerator) where TW : struct, IWarpMma =>
        Load<BlockedConvKernel, TW>(accelerator, nameof(TensorCoreKernels.Conv2dBlocked), typeof(TW), typeof(TC));

    /// <summary>The <see cref="TensorCoreKernels"/> method <paramref name="name"/> of <paramref name="types"/>, for sm_90a where <typeparamref name="TW"/> needs it.</summary>
    private static TK Load<TK, TW>(Accelerator accelerator, string name, params Type[] types) where TK : Delegate where TW : struct, IWarpMma
    {
        var kernel = typeof(TensorCoreKernels).GetMethod(name)!.MakeGenericMethod(types);
        return default(TW).WarpGroup ? Sm90aKernels.Load<TK>(accelerator, kernel) : accelerator.LoadKernel<TK>(kernel);
    }

    /// <summary>The grid of a product of <paramref name="rows"/> rows.</summary>
    private static KernelConfig Grid(long columns, int rows, int depth) => LaunchGeometry.Grid(LaunchGeometry.Tiles(columns, TensorCoreLayout.Size),
        LaunchGeometry.Tiles(rows, TensorCoreLayout.Size), depth, TensorCoreLayout.Threads, TensorCoreLayout.SharedBytes / sizeof(float));

    private SplitK Split(long tiles, int depth) =>
        _splitK ? SplitK.Choose(_accelerator.NumMultiprocessors, tiles, depth, TensorCoreLayout.Depth) : new SplitK(1, depth);

    private SplitK GemmSplit(GemmShape s) => Split(
        (long)LaunchGeometry.Tiles(s.ProductColumns, TensorCoreLayout.Size) * LaunchGeometry.Tiles(s.M, TensorCoreLayout.Size) * s.Batch, s.K);

    private SplitK ConvSplit(Conv2dShape s) => Split(
        (long)LaunchGeometry.Tiles(Pixels(s), TensorCoreLayout.Size) * LaunchGeometry.Tiles(s.K, TensorCoreLayout.Size), TapMajorFilter.Depth(s));

    private static long Pixels(Conv2dShape s) => (long)s.N * s.OH * s.OW;

    /// <summary>Floats of workspace <see cref="Gemm(F16View, F16View, F16View, F16View, F16View, ArrayView{float}, GemmShape, bool, bool)"/> needs (0 when the reduction is not split).</summary>
    public long GemmWorkspaceLength(GemmShape s) => GemmSplit(s).WorkspaceLength((long)s.Batch * s.M * s.ProductColumns);

    /// <summary>Floats of workspace <see cref="Conv2d"/> needs (0 when the reduction is not split).</summary>
    public long ConvWorkspaceLength(Conv2dShape s) => ConvSplit(s).WorkspaceLength(Pixels(s) * s.K);

    /// <summary>As <see cref="GemmLauncher{T}.Run"/>; <paramref name="vectorA"/>/<paramref name="vectorB"/> when that operand is
    /// k-contiguous, K is a multiple of 8 and its start (and batch stride) 16-byte aligned.</summary>
    public void Gemm(F16View a, F16View b, F16View bias, F16View residual, F16View c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB) =>
        Gemm(_gemm.For(s.M), a, b, bias, residual, c, workspace, s, vectorA, vectorB);

    /// <summary>As the fp16 <see cref="Gemm(F16View, F16View, F16View, F16View, F16View, ArrayView{float}, GemmShape, bool, bool)"/>, with an fp32 result (and bias and residual): fp16 operands, the product unrounded.</summary>
    public void Gemm(F16View a, F16View b, F32View bias, F32View residual, F32View c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB) =>
        Gemm(_gemmToSingle.For(s.M), a, b, bias, residual, c, workspace, s, vectorA, vectorB);

    private void Gemm<TO>(GemmKernel<TO> kernel, F16View a, F16View b, TO bias, TO residual, TO c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB)
        where TO : struct, IElementView<TO>
    {
        var split = GemmSplit(s);
        LaunchGeometry.CheckedLength(split.WorkspaceLength((long)s.Batch * s.M * s.ProductColumns), "GEMM workspace");
        var addresses = new OperandAddresses(GlobalAddress.Of(a.Bits), GlobalAddress.Of(b.Bits));
        kernel(_accelerator.DefaultStream, Grid(s.ProductColumns, s.M, s.Batch * split.Count), a, b, bias, residual, c, Reduction(workspace, split), s, addresses,
            SpecializedValue.New((int)s.Activation), SpecializedValue.New(s.Geglu), SpecializedValue.New(vectorA ? 1 : 0), SpecializedValue.New(vectorB ? 1 : 0),
            SpecializedValue.New(s.EpilogueFlags));
    }

    /// <summary>Packs PyTorch's [K, C, R, S] <paramref name="weight"/> as the <see cref="TapMajorFilter"/> [K, R, S, Cp] that <see cref="Conv2d"/> reads.</summary>
    public void PackFilter(F16View weight, F16View packed, int filters, int channels, int taps)
    {
        int length = LaunchGeometry.CheckedLength((long)filters * TapMajorFilter.Depth(channels, taps), "packed filter");
        _packFilter(LaunchGeometry.Elements(_accelerator, length), weight, packed, filters, channels, taps);
    }

    /// <summary>As <see cref="Conv2dLauncher{T}.Run"/>, with <paramref name="packedWeight"/> from <see cref="PackFilter"/> (16-byte aligned).</summary>
    public void Conv2d(F16View x, F16View packedWeight, F16View bias, F16View sampleBias, F16View residual, F16View y, ArrayView<float> workspace, Conv2dShape s)
    {
        var split = CheckedConvSplit(s);
        int stagePlane = HalfPatchOperand.StagePlane(s);
        _conv.For(s.K)(_accelerator.DefaultStream, Grid(Pixels(s), s.K, split.Count), x, packedWeight, GlobalAddress.Of(packedWeight.Bits), bias, sampleBias, residual, y,
            Zeros(stagePlane == 0 ? 1 : HalfPatchOperand.ZeroLength(stagePlane)), Reduction(workspace, split), s,
            SpecializedValue.New(s.R), SpecializedValue.New(s.S), SpecializedValue.New(stagePlane), SpecializedValue.New(s.Upsample), SpecializedValue.New(s.EpilogueFlags));
    }

    /// <summary>
    /// Copies <paramref name="images"/> dense fp16 images of <paramref name="channels"/> channels (a multiple of 8) and
    /// <paramref name="plane"/> pixels into the <see cref="ChannelBlocks"/> layout <see cref="Conv2dBlocked"/> reads
    /// (<paramref name="blocked"/> 16-byte aligned).
    /// </summary>
    public void ToChannelBlocks(F16View dense, F16View blocked, int images, int channels, int plane)
    {
        if (!ChannelBlocks.Supports(channels)) throw new ArgumentException($"{channels} channels are no whole blocks of {ChannelBlocks.Width}.", nameof(channels));
        int blocks = LaunchGeometry.CheckedLength((long)images * channels * plane, "channel-blocked image") / ChannelBlocks.Width;
        _toChannelBlocks(LaunchGeometry.Elements(_accelerator, blocks), dense, blocked, blocks, plane);
    }

    /// <summary>
    /// As <see cref="Conv2d"/>, of an image <paramref name="x"/> in the <see cref="ChannelBlocks"/> layout (16-byte
    /// aligned; the shape as <see cref="BlockedPatchOperand{TC}.Supports"/> asks).
    /// </summary>
    public void Conv2dBlocked(F16View x, F16View packedWeight, F16View bias, F16View sampleBias, F16View residual, F16View y, ArrayView<float> workspace, Conv2dShape s)
    {
        if (!BlockedPatchOperand<TC>.Supports(s)) throw new ArgumentException($"A channel-blocked image of {s.C} channels is not one the convolution reads.", nameof(s));
        var split = CheckedConvSplit(s);
        _blockedConv.For(s.K)(_accelerator.DefaultStream, Grid(Pixels(s), s.K, split.Count), x, GlobalAddress.Of(x.Bits), packedWeight, GlobalAddress.Of(packedWeight.Bits),
            bias, sampleBias, residual, y, Reduction(workspace, split), s, SpecializedValue.New(s.R), SpecializedValue.New(s.S), SpecializedValue.New(s.SourcePlane),
            SpecializedValue.New(s.Upsample), SpecializedValue.New(s.EpilogueFlags));
    }

    /// <summary>The split of a convolution whose output and workspace are indexable.</summary>
    private SplitK CheckedConvSplit(Conv2dShape s)
    {
        long pixels = Pixels(s);
        LaunchGeometry.CheckedLength(pixels * s.K, "conv2d output");
        var split = ConvSplit(s);
        LaunchGeometry.CheckedLength(split.WorkspaceLength(pixels * s.K), "conv2d workspace");
        return split;
    }

    /// <summary>
    /// At least <paramref name="length"/> fp16 zeros, kept for later launches: replaced when a larger image plane needs
    /// more (a few times in a process: a model's largest plane is reached in its first pass), after the launches that
    /// read the smaller buffer are done.
    /// </summary>
    private F16View Zeros(long length)
    {
        if (_zeros is null || _zeros.Length < length)
        {
            _accelerator.DefaultStream.Synchronize();
            _zeros?.Dispose();
            _zeros = _accelerator.Allocate1D<ushort>(LaunchGeometry.CheckedLength(length, "convolution zeros"));
            _zeros.MemSetToZero();
        }
        return new F16View(_zeros.View);
    }

    private SplitReduction Reduction(ArrayView<float> workspace, SplitK split) => new(workspace, _tileCounters.View, split, _polls);
}
