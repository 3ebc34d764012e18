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

    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>> _partials;
    private readonly Action<KernelConfig, T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>> _apply;
    private readonly Action<KernelConfig, T, T, T, T, LayerNormShape, SpecializedValue<int>> _layerNorm;

    public NormLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _partials = accelerator.LoadStreamKernel<T, ArrayView<float>, GroupNormShape, int, SpecializedValue<int>>(NormKernels.GroupNormPartials);
        _apply = accelerator.LoadStreamKernel<T, T, T, ArrayView<float>, T, GroupNormShape, int, SpecializedValue<int>, SpecializedValue<int>>(
            NormKernels.GroupNormApply);
        _layerNorm = accelerator.LoadStreamKernel<T, T, T, T, LayerNormShape, SpecializedValue<int>>(NormKernels.LayerNorm);
    }

    private static int Chunks(GroupNormShape s) => Math.Clamp(LaunchGeometry.Tiles(s.GroupLength, ChunkLength), 1, MaxChunks);

    /// <summary>Floats of scratch memory <see cref="GroupNorm"/> needs for its partial sums.</summary>
    public static int ScratchLength(GroupNormShape s) => s.N * s.Groups * Chunks(s) * 2;

    /// <summary>
    /// Group norm (+ SiLU) of x [N, C, spatial]; <paramref name="scratch"/> holds at least <see cref="ScratchLength"/>
    /// floats. <paramref name="alignedChunks"/>: x and y start at multiples of 8 elements (fp16: 16-byte aligned), so
    /// with a spatial size that is a multiple of 8 both kernels take eight elements at a time.
    /// </summary>
    public void GroupNorm(T x, T gamma, T beta, ArrayView<float> scratch, T y, GroupNormShape s, bool alignedChunks)
    {
        int chunks = Chunks(s), groups = s.N * s.Groups;
        var eights = SpecializedValue.New(alignedChunks && s.Spatial % 8 == 0 ? 1 : 0);
        _partials(LaunchGeometry.Grid(chunks, groups, 1, LaunchGeometry.ElementGroup), x, scratch, s, chunks, eights);
        int blocks = LaunchGeometry.Tiles(s.GroupLength, LaunchGeometry.ElementGroup * ApplyPerThread);
        _apply(LaunchGeometry.Grid(blocks, groups, 1, LaunchGeometry.ElementGroup), x, gamma, beta, scratch, y, s, chunks, eights,
            SpecializedValue.New(s.FuseSilu));
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
