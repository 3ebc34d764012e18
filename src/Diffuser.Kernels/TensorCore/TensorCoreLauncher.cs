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
    private readonly bool _splitK, _streamK;
    private readonly int _polls;

    /// <param name="splitK">Whether products with fewer tiles than multiprocessors split their reduction (else one group per tile).</param>
    /// <param name="sharedSplitSums">
    /// Whether a split tile's splits wait for each other and share its sums (else none waits, and the last to arrive
    /// adds them alone: <see cref="SplitReduction.Polls"/> 0).
    /// </param>
    /// <param name="streamK">Whether products whose tiles leave much of their last wave idle are dealt stream-K (<see cref="TileSchedule"/>).</param>
    public TensorCoreLauncher(Accelerator accelerator, bool splitK = true, bool sharedSplitSums = true, bool streamK = true)
    {
        _accelerator = accelerator;
        _splitK = splitK;
        _streamK = streamK;
        _polls = sharedSplitSums ? SplitReduction.PollsOn(accelerator.AcceleratorType) : 0;
        _gemm = new(deal => LoadGemm<TM, F16View>(accelerator, deal), () => LoadGemm<FirstRowsMma<TR>, F16View>(accelerator, typeof(GridDeal)));
        _gemmToSingle = new(deal => LoadGemm<TM, F32View>(accelerator, deal), () => LoadGemm<FirstRowsMma<TR>, F32View>(accelerator, typeof(GridDeal)));   // composed attention's
        _conv = new(deal => LoadConv<TM>(accelerator, deal), () => LoadConv<FirstRowsMma<TR>>(accelerator, typeof(GridDeal)));
        _blockedConv = new(deal => LoadBlockedConv<TM>(accelerator, deal), () => LoadBlockedConv<FirstRowsMma<TR>>(accelerator, typeof(GridDeal)));
        _packFilter = accelerator.LoadStream<F16View, F16View, int, int, int>(TensorCoreKernels.PackFilter);
        _toChannelBlocks = accelerator.LoadStream<F16View, F16View, int, int>(TensorCoreKernels.ToChannelBlocks);
        // A product splits only when it has fewer tiles than multiprocessors (SplitK.Choose), and stream-K deals at most
        // TileSchedule.MaxWaves waves of tiles: a counter per tile.
        _tileCounters = accelerator.Allocate1D<int>(Math.Max(TileSchedule.MaxWaves * SplitK.GroupsPerMultiprocessor * accelerator.NumMultiprocessors, 1));
        _tileCounters.MemSetToZero();
    }

    /// <summary>The tensor-core GEMM with its result, bias and residual stored as <typeparamref name="TO"/>.</summary>
    private delegate void GemmKernel<TO>(AcceleratorStream stream, KernelConfig config, F16View a, F16View b, TO bias, TO residual, TO c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses, SpecializedValue<int> activation, SpecializedValue<int> geglu, SpecializedValue<int> vectorA,
        SpecializedValue<int> vectorB, SpecializedValue<int> epilogue) where TO : struct, IElementView<TO>;

    /// <summary>
    /// A tensor-core kernel for products of any number of rows dealt by the grid, the same streamed
    /// (<see cref="StreamKDeal"/>), and its variant for at most 16 rows (<see cref="FirstRowsMma{TM}"/>: the UNet's and
    /// the VAE's conv_out, the time embedding's MLP at batch 2; never streamed), each loaded on first use.
    /// </summary>
    private sealed class ByRows<TK>(Func<Type, TK> whole, Func<TK> firstRows)
    {
        private readonly Lazy<TK> _byGrid = new(() => whole(typeof(GridDeal))), _streamK = new(() => whole(typeof(StreamKDeal))), _firstRows = new(firstRows);

        public TK For(Plan plan) => plan.FirstRows ? _firstRows.Value : plan.Streams ? _streamK.Value : _byGrid.Value;
    }

    private static bool FirstRows(int rows) => rows <= FirstRowsMma<TR>.Rows;

    private static GemmKernel<TO> LoadGemm<TW, TO>(Accelerator accelerator, Type deal) where TW : struct, IWarpMma where TO : struct, IElementView<TO> =>
        Load<GemmKernel<TO>, TW>(accelerator, nameof(TensorCoreKernels.Gemm), typeof(TW), typeof(TC), typeof(TO), deal);

    /// <summary>The tensor-core convolution as <see cref="LoadConv{TW}"/> loads it for one kind of warp.</summary>
    private delegate void ConvKernel(AcceleratorStream stream, KernelConfig config, F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual,
        F16View y, F16View zeros, SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> stagePlane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue);

    private static ConvKernel LoadConv<TW>(Accelerator accelerator, Type deal) where TW : struct, IWarpMma =>
        Load<ConvKernel, TW>(accelerator, nameof(TensorCoreKernels.Conv2d), typeof(TW), typeof(TC), deal);

    /// <summary>The tensor-core convolution of a channel-blocked image as <see cref="LoadBlockedConv{TW}"/> loads it for one kind of warp.</summary>
    private delegate void BlockedConvKernel(AcceleratorStream stream, KernelConfig config, F16View x, long xAddress, F16View weight, long weightAddress, F16View bias,
        F16View sampleBias, F16View residual, F16View y, SplitReduction reduction, Conv2dShape s, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols,
        SpecializedValue<int> plane, SpecializedValue<int> upsample, SpecializedValue<int> epilogue);

    private static BlockedConvKernel LoadBlockedConv<TW>(Accelerator accelerator, Type deal) where TW : struct, IWarpMma =>
        Load<BlockedConvKernel, TW>(accelerator, nameof(TensorCoreKernels.Conv2dBlocked), typeof(TW), typeof(TC), deal);

    /// <summary>The <see cref="TensorCoreKernels"/> method <paramref name="name"/> of <paramref name="types"/>, for sm_90a where <typeparamref name="TW"/> needs it.</summary>
    private static TK Load<TK, TW>(Accelerator accelerator, string name, params Type[] types) where TK : Delegate where TW : struct, IWarpMma
    {
        var kernel = typeof(TensorCoreKernels).GetMethod(name)!.MakeGenericMethod(types);
        return KernelLoading.Load<TK>(accelerator, kernel, forSm90a: default(TW).WarpGroup);
    }

    /// <summary>
    /// How a product's tiles are dealt to its groups: its split (<see cref="SplitK"/>), its schedule, its grid, and
    /// how many splits or stream-K pieces of each output the workspace holds.
    /// </summary>
    /// <param name="FirstRows">The product has at most 16 rows: its tiles' first m16 rows run alone (<see cref="FirstRowsMma{TM}"/>).</param>
    private readonly record struct Plan(SplitK Split, TileSchedule Schedule, KernelConfig Grid, int WorkspaceSplits, bool FirstRows)
    {
        public long WorkspaceLength(long outputs) => WorkspaceSplits > 1 ? WorkspaceSplits * outputs : 0;

        /// <summary>Whether the product is dealt stream-K.</summary>
        public bool Streams => Schedule.Groups > 0;
    }

    /// <summary>The plan of a product of columns × rows (a batch of <paramref name="batch"/> of them) over a reduction of <paramref name="depth"/>.</summary>
    private Plan PlanOf(long columns, int rows, int batch, int depth)
    {
        int columnTiles = LaunchGeometry.Tiles(columns, TensorCoreLayout.Size), rowTiles = LaunchGeometry.Tiles(rows, TensorCoreLayout.Size);
        long tiles = (long)columnTiles * rowTiles * batch;
        int stages = LaunchGeometry.Tiles(depth, TensorCoreLayout.Depth);
        bool firstRows = FirstRows(rows);
        int streamGroups = _streamK && !firstRows ? TileSchedule.StreamGroups(_accelerator.NumMultiprocessors, tiles, stages) : 0;
        if (streamGroups > 0)
            return new(new SplitK(1, depth), new TileSchedule(columnTiles, rowTiles, (int)tiles, stages, streamGroups),
                Grid(streamGroups, 1, 1), TileSchedule.MaxPieces, firstRows);
        var split = _splitK ? SplitK.Choose(_accelerator.NumMultiprocessors, tiles, depth, TensorCoreLayout.Depth) : new SplitK(1, depth);
        return new(split, new TileSchedule(columnTiles, rowTiles, 0, 0, 0), Grid(columnTiles, rowTiles, batch * split.Count), split.Count, firstRows);
    }

    private static KernelConfig Grid(int x, int y, int z) =>
        LaunchGeometry.Grid(x, y, z, TensorCoreLayout.Threads, TensorCoreLayout.SharedBytes / sizeof(float));

    private Plan GemmPlan(GemmShape s) => PlanOf(s.ProductColumns, s.M, s.Batch, s.K);

    private Plan ConvPlan(Conv2dShape s) => PlanOf(Pixels(s), s.K, 1, TapMajorFilter.Depth(s));

    private static long Pixels(Conv2dShape s) => (long)s.N * s.OH * s.OW;

    /// <summary>Floats of workspace <see cref="Gemm(F16View, F16View, F16View, F16View, F16View, ArrayView{float}, GemmShape, bool, bool)"/> needs (0 when the reduction is not split).</summary>
    public long GemmWorkspaceLength(GemmShape s) => GemmPlan(s).WorkspaceLength((long)s.Batch * s.M * s.ProductColumns);

    /// <summary>Floats of workspace <see cref="Conv2d"/> needs (0 when the reduction is not split).</summary>
    public long ConvWorkspaceLength(Conv2dShape s) => ConvPlan(s).WorkspaceLength(Pixels(s) * s.K);

    /// <summary>As <see cref="GemmLauncher{T}.Run"/>; <paramref name="vectorA"/>/<paramref name="vectorB"/> when that operand is
    /// k-contiguous, K is a multiple of 8 and its start (and batch stride) 16-byte aligned.</summary>
    public void Gemm(F16View a, F16View b, F16View bias, F16View residual, F16View c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB) =>
        Gemm(_gemm, a, b, bias, residual, c, workspace, s, vectorA, vectorB);

    /// <summary>As the fp16 <see cref="Gemm(F16View, F16View, F16View, F16View, F16View, ArrayView{float}, GemmShape, bool, bool)"/>, with an fp32 result (and bias and residual): fp16 operands, the product unrounded.</summary>
    public void Gemm(F16View a, F16View b, F32View bias, F32View residual, F32View c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB) =>
        Gemm(_gemmToSingle, a, b, bias, residual, c, workspace, s, vectorA, vectorB);

    private void Gemm<TO>(ByRows<GemmKernel<TO>> kernels, F16View a, F16View b, TO bias, TO residual, TO c, ArrayView<float> workspace, GemmShape s, bool vectorA, bool vectorB)
        where TO : struct, IElementView<TO>
    {
        var plan = GemmPlan(s);
        LaunchGeometry.CheckedLength(plan.WorkspaceLength((long)s.Batch * s.M * s.ProductColumns), "GEMM workspace");
        var addresses = new OperandAddresses(GlobalAddress.Of(a.Bits), GlobalAddress.Of(b.Bits));
        kernels.For(plan)(_accelerator.DefaultStream, plan.Grid, a, b, bias, residual, c, Reduction(workspace, plan), s, addresses,
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
        var plan = CheckedConvPlan(s);
        int stagePlane = HalfPatchOperand.StagePlane(s);
        _conv.For(plan)(_accelerator.DefaultStream, plan.Grid, x, packedWeight, GlobalAddress.Of(packedWeight.Bits), bias, sampleBias, residual, y,
            Zeros(stagePlane == 0 ? 1 : HalfPatchOperand.ZeroLength(stagePlane)), Reduction(workspace, plan), s,
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
        var plan = CheckedConvPlan(s);
        _blockedConv.For(plan)(_accelerator.DefaultStream, plan.Grid, x, GlobalAddress.Of(x.Bits), packedWeight, GlobalAddress.Of(packedWeight.Bits),
            bias, sampleBias, residual, y, Reduction(workspace, plan), s, SpecializedValue.New(s.R), SpecializedValue.New(s.S), SpecializedValue.New(s.SourcePlane),
            SpecializedValue.New(s.Upsample), SpecializedValue.New(s.EpilogueFlags));
    }

    /// <summary>The plan of a convolution whose output and workspace are indexable.</summary>
    private Plan CheckedConvPlan(Conv2dShape s)
    {
        long pixels = Pixels(s);
        LaunchGeometry.CheckedLength(pixels * s.K, "conv2d output");
        var plan = ConvPlan(s);
        LaunchGeometry.CheckedLength(plan.WorkspaceLength(pixels * s.K), "conv2d workspace");
        return plan;
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

    /// <summary>The reduction of <paramref name="plan"/>: stream-K's pieces do not run at once, so none waits for another (polls 0).</summary>
    private SplitReduction Reduction(ArrayView<float> workspace, Plan plan) =>
        new(workspace, _tileCounters.View, plan.Split, plan.Streams ? 0 : _polls, plan.Schedule);
}
