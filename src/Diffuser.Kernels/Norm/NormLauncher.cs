using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Norm;

/// <summary>Loads the norm kernels once for an accelerator and one storage type, and chooses their grids.</summary>
public sealed class NormLauncher<T> where T : struct, IElementView<T>
{
    /// <summary>
    /// Elements one partial-sum block reduces; a group longer than this is split across blocks (16 a thread: at SD 1.5's
    /// 64×64 level 640 blocks of 256 threads, ~2.6 MB of loads in flight, about what an H200's memory needs).
    /// </summary>
    private const int ChunkLength = 4096;
    private const int MaxChunks = 32;
    /// <summary>Elements each thread of the apply kernel normalises (at most): two steps of eight when aligned.</summary>
    private const int ApplyPerThread = 16;
    /// <summary>
    /// Groups (N·G) the one-pass kernel takes at most: its counters (SD with guidance: 64). Beyond, two launches. With
    /// at most 2 blocks per multiprocessor slices a group, its tickets stay far below the 2²⁴ its divisions allow.
    /// </summary>
    private const int MaxOnePassGroups = 1024;
    /// <summary>The granularity of <see cref="GroupNormBlocked"/>'s group size: a CUDA warp.</summary>
    private const int BlockedWarp = 32;

    private readonly Accelerator _accelerator;
    private readonly int _onePassBlocks;
    private readonly MemoryBuffer1D<int, Stride1D.Dense>? _onePassCounters;
    private readonly Action<KernelConfig, T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>> _partials;
    private readonly Action<KernelConfig, T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>> _apply;
    private readonly Action<KernelConfig, T, T, T, T, ArrayView<float>, ArrayView<int>, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>> _onePass;
    private readonly Action<KernelConfig, T, T, T, T, LayerNormShape, SpecializedValue<int>> _layerNorm;
    private readonly Action<KernelConfig, T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>> _applyBlocked;
    private readonly Action<KernelConfig, T, T, T, T, ArrayView<float>, ArrayView<int>, GroupNormShape, int, int, SpecializedValue<int>> _onePassBlocked;

    /// <param name="onePass">Whether group norms whose slices fit the resident blocks take one launch that reads x once (else two).</param>
    public NormLauncher(Accelerator accelerator, bool onePass = true)
    {
        _accelerator = accelerator;
        _onePassBlocks = onePass ? OnePassBlocks(accelerator) : 0;
        if (_onePassBlocks > 0)
        {
            _onePassCounters = accelerator.Allocate1D<int>(MaxOnePassGroups + 1);
            _onePassCounters.MemSetToZero();
        }
        _partials = accelerator.LoadStream<T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>>(NormKernels.GroupNormPartials);
        _apply = accelerator.LoadStream<T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>>(
            NormKernels.GroupNormApply);
        _onePass = accelerator.LoadStream<T, T, T, T, ArrayView<float>, ArrayView<int>, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>>(
            NormKernels.GroupNormOnePass);
        _layerNorm = accelerator.LoadStream<T, T, T, T, LayerNormShape, SpecializedValue<int>>(NormKernels.LayerNorm);
        _applyBlocked = accelerator.LoadStream<T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>>(
            BlockedGroupNormKernels.GroupNormApplyBlocked);
        _onePassBlocked = accelerator.LoadStream<T, T, T, T, ArrayView<float>, ArrayView<int>, GroupNormShape, int, int, SpecializedValue<int>>(
            BlockedGroupNormKernels.GroupNormOnePassBlocked);
    }

    /// <summary>
    /// Blocks of <see cref="NormKernels.GroupNormOnePass"/> that surely run at once, so that its waits always end: on
    /// CUDA two groups of <see cref="LaunchGeometry.ElementGroup"/> threads per multiprocessor (PtxasTests check that two
    /// groups of every kernel fit a multiprocessor's registers; its shared memory is 260 bytes); ILGPU's CPU accelerator
    /// runs one group at a time on each of its multiprocessors, so a grid no larger than them runs whole. None elsewhere
    /// (OpenCL devices keep two launches).
    /// </summary>
    private static int OnePassBlocks(Accelerator accelerator) => accelerator.AcceleratorType switch
    {
        AcceleratorType.Cuda => 2 * accelerator.NumMultiprocessors,
        AcceleratorType.CPU => accelerator.NumMultiprocessors,
        _ => 0,
    };

    private static int Width(GroupNormShape s, bool alignedChunks) => alignedChunks && s.Spatial % 8 == 0 ? 8 : 1;

    /// <summary>Slices of a group in the one-pass kernel (each <see cref="NormKernels.OnePassSteps"/> steps of every thread).</summary>
    private static int Parts(GroupNormShape s, bool alignedChunks) =>
        LaunchGeometry.Tiles(s.GroupLength, NormKernels.OnePassSteps * Width(s, alignedChunks) * LaunchGeometry.ElementGroup);

    /// <summary>Whether <see cref="GroupNorm"/> takes the one launch that reads x once: its groups' slices fit the blocks that run at once.</summary>
    public bool TakesOnePass(GroupNormShape s, bool alignedChunks) => s.N * s.Groups <= MaxOnePassGroups && Parts(s, alignedChunks) <= _onePassBlocks;

    private static int Chunks(GroupNormShape s) => Math.Clamp(LaunchGeometry.Tiles(s.GroupLength, ChunkLength), 1, MaxChunks);

    /// <summary>Floats of scratch memory <see cref="GroupNorm"/> needs for its partial sums.</summary>
    public int ScratchLength(GroupNormShape s, bool alignedChunks) =>
        s.N * s.Groups * (TakesOnePass(s, alignedChunks) ? Parts(s, alignedChunks) : Chunks(s)) * 2;

    /// <summary>
    /// Group norm (+ SiLU) of x [N, C, spatial]: in one launch that reads x once when the group's slices fit the blocks
    /// that run at once (<see cref="NormKernels.GroupNormOnePass"/>; on an H200 every norm of SD 1.x/2.x at 512², whose
    /// largest groups are 128 slices of 16,384 elements for 264 blocks), else two (partial sums, then the
    /// normalisation); <paramref name="scratch"/> holds at least <see cref="ScratchLength"/> floats. <paramref name="alignedChunks"/>: x and y start at multiples of 8 elements (fp16: 16-byte aligned), so
    /// with a spatial size that is a multiple of 8 the kernels take eight elements at a time.
    /// </summary>
    public void GroupNorm(T x, T gamma, T beta, ArrayView<float> scratch, T y, GroupNormShape s, bool alignedChunks)
    {
        int groups = s.N * s.Groups;
        var eights = SpecializedValue.New(Width(s, alignedChunks) == 8 ? 1 : 0);
        var silu = SpecializedValue.New(s.FuseSilu);
        if (TakesOnePass(s, alignedChunks))
        {
            int parts = Parts(s, alignedChunks);
            _onePass(LaunchGeometry.Grid(Math.Min(_onePassBlocks, groups * parts), 1, 1, LaunchGeometry.ElementGroup), x, gamma, beta, y, scratch,
                _onePassCounters!.View, s, parts, eights, silu);
            return;
        }
        int chunks = Chunks(s);
        _partials(LaunchGeometry.Grid(chunks, groups, 1, LaunchGeometry.ElementGroup), x, scratch, s, chunks, eights);
        int blocks = LaunchGeometry.Tiles(s.GroupLength, LaunchGeometry.ElementGroup * ApplyPerThread);
        _apply(LaunchGeometry.Grid(blocks, groups, 1, LaunchGeometry.ElementGroup), x, gamma, beta, scratch, y, s, chunks, eights, silu);
    }

    /// <summary>Whether <see cref="GroupNormBlocked"/> takes the shape: whole blocks of 8 channels, and a plane of whole 8-pixel steps.</summary>
    public static bool SupportsBlocked(GroupNormShape s) => ChannelBlocks.Supports(s.C) && s.Spatial % BlockedGroupNormKernels.PixelsPerThread == 0;

    /// <summary>
    /// Whether <see cref="GroupNormBlocked"/> takes one launch that reads x once
    /// (<see cref="BlockedGroupNormKernels.GroupNormOnePassBlocked"/>): groups of an even number of channels, at least 4
    /// (a block of 8 channels then spans at most two groups, a unit at most four), and a unit's slices that fit the
    /// blocks that run at once (on an H200 every such norm of SD 1.5 at 512²: at most 128 slices, the VAE's 128- and
    /// 256-channel norms at 512², for 264 blocks).
    /// </summary>
    public bool TakesOnePassBlocked(GroupNormShape s) => FitsOnePassBlocked(s, _onePassBlocks);

    /// <summary>As <see cref="TakesOnePassBlocked"/> on a device where <paramref name="residentBlocks"/> blocks surely run at once (an H200: 264).</summary>
    public static bool FitsOnePassBlocked(GroupNormShape s, int residentBlocks) =>
        SupportsBlocked(s) && s.ChannelsPerGroup >= 4 && UnitGroups(s) <= BlockedGroupNormKernels.MaxUnitGroups && s.N * s.Groups <= MaxOnePassGroups
        && Steps(s) < SmallDivision.DivisorLimit && s.C < SmallDivision.DivisorLimit && (long)s.N * s.C * Steps(s) < SmallDivision.DividendLimit
        && BlockedParts(s) <= residentBlocks;

    /// <summary>Floats of scratch memory <see cref="GroupNormBlocked"/> needs for its partial sums.</summary>
    public int BlockedScratchLength(GroupNormShape s) => s.N * s.Groups * (TakesOnePassBlocked(s) ? BlockedParts(s) : Chunks(s)) * 2;

    private static int Steps(GroupNormShape s) => s.Spatial / BlockedGroupNormKernels.PixelsPerThread;

    /// <summary>
    /// The one-pass blocked kernel's unit: the fewest whole groups that are whole blocks of 8 channels, 8 / gcd(C/G, 8)
    /// (8 a power of two: the gcd is C/G's lowest set bit, up to 8).
    /// </summary>
    private static int UnitGroups(GroupNormShape s) => ChannelBlocks.Width / Math.Min(ChannelBlocks.Width, s.ChannelsPerGroup & -s.ChannelsPerGroup);

    /// <summary>A unit's items (channel block, 8-pixel step): one a thread of a slice.</summary>
    private static int UnitItems(GroupNormShape s) => UnitGroups(s) * s.ChannelsPerGroup / ChannelBlocks.Width * Steps(s);

    /// <summary>
    /// Threads of a blocked norm's block over <paramref name="items"/> items of work: fewer for small planes (8×8: 8
    /// steps of a channel block), so that blocks are not mostly idle; whole warps of 32, which also holds the 8 threads
    /// that find the statistics in the two-launch kernel.
    /// </summary>
    private static int BlockedThreads(int items) => Math.Min(LaunchGeometry.ElementGroup, LaunchGeometry.Tiles(items, BlockedWarp) * BlockedWarp);

    private static int BlockedParts(GroupNormShape s) => LaunchGeometry.Tiles(UnitItems(s), BlockedThreads(UnitItems(s)));

    /// <summary>
    /// Group norm (+ SiLU) of x [N, C, spatial] into y in the channel-blocked layout (<see cref="ChannelBlocks"/>) that
    /// the tensor-core convolution after it reads: in one launch that reads x once where it can
    /// (<see cref="TakesOnePassBlocked"/>), else the partial sums, then <see cref="BlockedGroupNormKernels.GroupNormApplyBlocked"/>.
    /// <paramref name="scratch"/> holds at least <see cref="BlockedScratchLength"/> floats. The kernels take x (and
    /// store y) 16 bytes at a time, so the shape must be <see cref="SupportsBlocked"/> and x and y start at multiples
    /// of 8 elements (<paramref name="alignedChunks"/>, as for <see cref="GroupNorm"/>); else ArgumentException.
    /// </summary>
    public void GroupNormBlocked(T x, T gamma, T beta, ArrayView<float> scratch, T y, GroupNormShape s, bool alignedChunks)
    {
        if (!SupportsBlocked(s))
            throw new ArgumentException($"A channel-blocked group norm needs channels ({s.C}) and a plane ({s.Spatial}) that are multiples of 8.", nameof(s));
        if (!alignedChunks) throw new ArgumentException("A channel-blocked group norm needs x and y 16-byte aligned.", nameof(alignedChunks));
        var silu = SpecializedValue.New(s.FuseSilu);
        if (TakesOnePassBlocked(s))
        {
            int unitGroups = UnitGroups(s), parts = BlockedParts(s), tickets = s.N * s.Groups / unitGroups * parts;
            _onePassBlocked(LaunchGeometry.Grid(Math.Min(_onePassBlocks, tickets), 1, 1, BlockedThreads(UnitItems(s))), x, gamma, beta, y, scratch,
                _onePassCounters!.View, s, unitGroups, parts, silu);
            return;
        }
        int groups = s.N * s.Groups, chunks = Chunks(s), steps = Steps(s);
        _partials(LaunchGeometry.Grid(chunks, groups, 1, LaunchGeometry.ElementGroup), x, scratch, s, chunks, SpecializedValue.New(1));
        int threads = BlockedThreads(steps);
        _applyBlocked(LaunchGeometry.Grid(LaunchGeometry.Tiles(steps, threads), s.N * s.C / ChannelBlocks.Width, 1, threads),
            x, gamma, beta, scratch, y, s, chunks, silu);
    }

    /// <summary>
    /// Layer norm over rows of x [rows, features], one warp per row. <paramref name="alignedChunks"/>: x, gamma, beta and
    /// y start at multiples of 8 elements, so with a feature count that is a multiple of 8 the lanes take eight at a time.
    /// </summary>
    public void LayerNorm(T x, T gamma, T beta, T y, LayerNormShape s, bool alignedChunks)
    {
        int rowsPerGroup = LaunchGeometry.ElementGroup / _accelerator.WarpSize;
        _layerNorm(LaunchGeometry.Grid(LaunchGeometry.Tiles(s.Rows, rowsPerGroup), 1, 1, LaunchGeometry.ElementGroup), x, gamma, beta, y, s,
            SpecializedValue.New(alignedChunks && s.Features % 8 == 0 ? 1 : 0));
    }
}
