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
    /// <summary>Groups up to this long take one launch, a block per group (<see cref="NormKernels.GroupNormWhole"/>): SD's 16×16 and 8×8 levels.</summary>
    private const int WholeGroupLength = 16384;
    /// <summary>
    /// Threads of a whole-group block: with only N·groups blocks (64 for SD with CFG), 1024 threads a block keep as many
    /// 16-byte loads in flight as the two-launch version's 3 blocks of 256 per group.
    /// </summary>
    public const int WholeGroupThreads = 1024;
    /// <summary>Elements each thread of the apply kernel normalises (at most): two steps of eight when aligned.</summary>
    private const int ApplyPerThread = 16;

    private readonly Accelerator _accelerator;
    private readonly int _wholeGroupThreads;
    private readonly Action<KernelConfig, T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>> _partials;
    private readonly Action<KernelConfig, T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>> _apply;
    private readonly Action<KernelConfig, T, T, T, T, GroupNormShape, SpecializedValue<int>, SpecializedValue<int>> _whole;
    private readonly Action<KernelConfig, T, T, T, T, LayerNormShape, SpecializedValue<int>> _layerNorm;

    public NormLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _wholeGroupThreads = Math.Min(WholeGroupThreads, accelerator.MaxNumThreadsPerGroup);
        _partials = accelerator.LoadStreamKernel<T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>>(NormKernels.GroupNormPartials);
        _apply = accelerator.LoadStreamKernel<T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>>(
            NormKernels.GroupNormApply);
        _whole = accelerator.LoadStreamKernel<T, T, T, T, GroupNormShape, SpecializedValue<int>, SpecializedValue<int>>(NormKernels.GroupNormWhole);
        _layerNorm = accelerator.LoadStreamKernel<T, T, T, T, LayerNormShape, SpecializedValue<int>>(NormKernels.LayerNorm);
    }

    private static int Chunks(GroupNormShape s) => Math.Clamp(LaunchGeometry.Tiles(s.GroupLength, ChunkLength), 1, MaxChunks);

    private static bool Whole(GroupNormShape s) => s.GroupLength <= WholeGroupLength;

    /// <summary>Floats of scratch memory <see cref="GroupNorm"/> needs for its partial sums (none for a group that fits a block).</summary>
    public static int ScratchLength(GroupNormShape s) => Whole(s) ? 0 : s.N * s.Groups * Chunks(s) * 2;

    /// <summary>
    /// Group norm (+ SiLU) of x [N, C, spatial], in one launch when a group fits a block, else two (partial sums, then
    /// the normalisation); <paramref name="scratch"/> holds at least <see cref="ScratchLength"/> floats. <paramref name="alignedChunks"/>: x and y start at multiples of 8 elements (fp16: 16-byte aligned), so
    /// with a spatial size that is a multiple of 8 both kernels take eight elements at a time.
    /// </summary>
    public void GroupNorm(T x, T gamma, T beta, ArrayView<float> scratch, T y, GroupNormShape s, bool alignedChunks)
    {
        int chunks = Chunks(s), groups = s.N * s.Groups;
        var eights = SpecializedValue.New(alignedChunks && s.Spatial % 8 == 0 ? 1 : 0);
        var silu = SpecializedValue.New(s.FuseSilu);
        if (Whole(s))
        {
            _whole(LaunchGeometry.Grid(1, groups, 1, _wholeGroupThreads), x, gamma, beta, y, s, eights, silu);
            return;
        }
        _partials(LaunchGeometry.Grid(chunks, groups, 1, LaunchGeometry.ElementGroup), x, scratch, s, chunks, eights);
        int blocks = LaunchGeometry.Tiles(s.GroupLength, LaunchGeometry.ElementGroup * ApplyPerThread);
        _apply(LaunchGeometry.Grid(blocks, groups, 1, LaunchGeometry.ElementGroup), x, gamma, beta, scratch, y, s, chunks, eights, silu);
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
