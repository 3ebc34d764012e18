using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Norm;

/// <summary>Loads the norm kernels once for an accelerator and chooses their grids.</summary>
public sealed class NormLauncher
{
    /// <summary>Elements one partial-sum block reduces; a group longer than this is split across blocks.</summary>
    private const int ChunkLength = 8192;
    private const int MaxChunks = 32;
    /// <summary>Elements each thread of the apply kernel normalises (at most).</summary>
    private const int ApplyPerThread = 16;

    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, GroupNormShape, int> _partials;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GroupNormShape, int> _apply;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormShape> _layerNorm;

    public NormLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _partials = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, GroupNormShape, int>(NormKernels.GroupNormPartials);
        _apply = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GroupNormShape, int>(NormKernels.GroupNormApply);
        _layerNorm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormShape>(NormKernels.LayerNorm);
    }

    private static int Chunks(GroupNormShape s) => Math.Clamp(LaunchGeometry.Tiles(s.GroupLength, ChunkLength), 1, MaxChunks);

    /// <summary>Floats of scratch memory <see cref="GroupNorm"/> needs for its partial sums.</summary>
    public static int ScratchLength(GroupNormShape s) => s.N * s.Groups * Chunks(s) * 2;

    /// <summary>Group norm (+ SiLU) of x [N, C, spatial]; <paramref name="scratch"/> holds at least <see cref="ScratchLength"/> floats.</summary>
    public void GroupNorm(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> scratch, ArrayView<float> y, GroupNormShape s)
    {
        int chunks = Chunks(s), groups = s.N * s.Groups;
        _partials(LaunchGeometry.Grid(chunks, groups, 1, LaunchGeometry.ElementGroup), x, scratch, s, chunks);
        int blocks = LaunchGeometry.Tiles(s.GroupLength, LaunchGeometry.ElementGroup * ApplyPerThread);
        _apply(LaunchGeometry.Grid(blocks, groups, 1, LaunchGeometry.ElementGroup), x, gamma, beta, scratch, y, s, chunks);
    }

    /// <summary>Layer norm over rows of x [rows, features], one warp per row.</summary>
    public void LayerNorm(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, LayerNormShape s)
    {
        int rowsPerGroup = LaunchGeometry.ElementGroup / _accelerator.WarpSize;
        _layerNorm(LaunchGeometry.Grid(LaunchGeometry.Tiles(s.Rows, rowsPerGroup), 1, 1, LaunchGeometry.ElementGroup), x, gamma, beta, y, s);
    }
}
