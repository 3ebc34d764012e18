using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>Loads the GEMM kernels once for an accelerator (one compiled variant per fused activation).</summary>
public sealed class GemmLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        GemmShape, SplitK, SpecializedValue<int>> _gemm;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int, SpecializedValue<int>> _reduce;

    public GemmLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _gemm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            GemmShape, SplitK, SpecializedValue<int>>(GemmKernels.Gemm);
        _reduce = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int, SpecializedValue<int>>(
            GemmKernels.ReduceSplits);
    }

    private SplitK Split(GemmShape s) => SplitK.Choose(_accelerator.NumMultiprocessors,
        (long)LaunchGeometry.Tiles(s.N, TiledMatmul.Size) * LaunchGeometry.Tiles(s.M, TiledMatmul.Size) * s.Batch, s.K);

    /// <summary>Floats of scratch memory <see cref="Run"/> needs for this shape (0 when the reduction is not split).</summary>
    public long WorkspaceLength(GemmShape s) => Split(s).WorkspaceLength((long)s.Batch * s.M * s.N);

    /// <summary>
    /// C = act(alpha · op(A) · op(B) + bias); <paramref name="bias"/> may be empty when the shape has none, and
    /// <paramref name="workspace"/> when <see cref="WorkspaceLength"/> is 0.
    /// </summary>
    public void Run(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, ArrayView<float> workspace, GemmShape s)
    {
        var split = Split(s);
        var activation = SpecializedValue.New((int)s.Activation);
        int total = LaunchGeometry.CheckedLength(split.WorkspaceLength((long)s.Batch * s.M * s.N), "GEMM workspace");
        _gemm(LaunchGeometry.Grid(LaunchGeometry.Tiles(s.N, TiledMatmul.Size), LaunchGeometry.Tiles(s.M, TiledMatmul.Size), s.Batch * split.Count,
            TiledMatmul.Threads), a, b, bias, c, workspace, s, split, activation);
        if (split.Count > 1) _reduce(LaunchGeometry.Elements(_accelerator, total / split.Count), workspace, bias, c, s, split.Count, activation);
    }
}
