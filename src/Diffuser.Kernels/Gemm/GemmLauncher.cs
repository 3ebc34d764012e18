using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// Loads the GEMM kernels once for an accelerator and one storage type <typeparamref name="T"/> (one compiled variant
/// per fused activation and GEGLU).
/// </summary>
public sealed class GemmLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, T, T, T, ArrayView<float>, GemmShape, SplitK, SpecializedValue<int>, SpecializedValue<int>> _gemm;
    private readonly Action<KernelConfig, ArrayView<float>, T, T, T, GemmShape, int, SpecializedValue<int>, SpecializedValue<int>> _reduce;

    public GemmLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _gemm = accelerator.LoadStream<T, T, T, T, T, ArrayView<float>, GemmShape, SplitK, SpecializedValue<int>, SpecializedValue<int>>(
            GemmKernels.Gemm);
        _reduce = accelerator.LoadStream<ArrayView<float>, T, T, T, GemmShape, int, SpecializedValue<int>, SpecializedValue<int>>(
            GemmKernels.ReduceSplits);
    }

    private static long ProductTiles(GemmShape s) =>
        (long)LaunchGeometry.Tiles(s.ProductColumns, TiledMatmul.Size) * LaunchGeometry.Tiles(s.M, TiledMatmul.Size) * s.Batch;

    private SplitK Split(GemmShape s) => SplitK.Choose(_accelerator.NumMultiprocessors, ProductTiles(s), s.K);

    /// <summary>Floats of scratch memory <see cref="Run"/> needs for this shape (0 when the reduction is not split).</summary>
    public long WorkspaceLength(GemmShape s) => Split(s).WorkspaceLength((long)s.Batch * s.M * s.ProductColumns);

    /// <summary>
    /// C = act(alpha · op(A) · op(B) + bias) + residual, or the fused GEGLU; <paramref name="bias"/> and
    /// <paramref name="residual"/> may be empty views when the shape has none, and <paramref name="workspace"/> when
    /// <see cref="WorkspaceLength"/> is 0.
    /// </summary>
    public void Run(T a, T b, T bias, T residual, T c, ArrayView<float> workspace, GemmShape s)
    {
        var split = Split(s);
        var activation = SpecializedValue.New((int)s.Activation);
        var geglu = SpecializedValue.New(s.Geglu);
        LaunchGeometry.CheckedLength(split.WorkspaceLength((long)s.Batch * s.M * s.ProductColumns), "GEMM workspace");
        _gemm(LaunchGeometry.Grid(LaunchGeometry.Tiles(s.ProductColumns, TiledMatmul.Size), LaunchGeometry.Tiles(s.M, TiledMatmul.Size), s.Batch * split.Count,
            TiledMatmul.Threads), a, b, bias, residual, c, workspace, s, split, activation, geglu);
        if (split.Count > 1)
            _reduce(LaunchGeometry.Elements(_accelerator, (long)s.Batch * s.M * s.N), workspace, bias, residual, c, s, split.Count, activation, geglu);
    }
}
