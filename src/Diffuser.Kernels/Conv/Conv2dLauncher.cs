using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Conv;

/// <summary>
/// Loads the implicit-GEMM convolution once for an accelerator and one storage type <typeparamref name="T"/> (one
/// compiled variant per kernel size).
/// </summary>
public sealed class Conv2dLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, T, T, T, T, ArrayView<float>, Conv2dShape, SplitK, SpecializedValue<int>, SpecializedValue<int>> _conv;
    private readonly Action<KernelConfig, ArrayView<float>, T, T, T, T, Conv2dShape, int> _reduce;

    public Conv2dLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _conv = accelerator.LoadStream<T, T, T, T, T, T, ArrayView<float>, Conv2dShape, SplitK, SpecializedValue<int>, SpecializedValue<int>>(
            Conv2dKernels.Conv2d);
        _reduce = accelerator.LoadStream<ArrayView<float>, T, T, T, T, Conv2dShape, int>(Conv2dKernels.ReduceSplits);
    }

    private static long Pixels(Conv2dShape s) => (long)s.N * s.OH * s.OW;

    private SplitK Split(Conv2dShape s) => SplitK.Choose(_accelerator.NumMultiprocessors,
        (long)LaunchGeometry.Tiles(Pixels(s), TiledMatmul.Size) * LaunchGeometry.Tiles(s.K, TiledMatmul.Size), s.ReductionLength);

    /// <summary>Floats of scratch memory <see cref="Run"/> needs for this shape (0 when the reduction is not split).</summary>
    public long WorkspaceLength(Conv2dShape s) => Split(s).WorkspaceLength(Pixels(s) * s.K);

    /// <summary>
    /// y = conv(x, weight) + bias + sampleBias + residual; empty views stand for an absent bias, per-sample bias,
    /// residual or workspace.
    /// </summary>
    public void Run(T x, T weight, T bias, T sampleBias, T residual, T y, ArrayView<float> workspace, Conv2dShape s)
    {
        long pixels = Pixels(s);
        LaunchGeometry.CheckedLength(pixels * s.K, "conv2d output");
        if (s.ReductionLength >= SmallDivision.DividendLimit || s.R * s.S >= SmallDivision.DivisorLimit)
            throw new ArgumentOutOfRangeException(nameof(s), $"A {s.R}×{s.S} filter over {s.C} channels is beyond the GPU convolution's index arithmetic (C·R·S < 2²⁴, R·S < 2¹⁶).");
        var split = Split(s);
        LaunchGeometry.CheckedLength(split.WorkspaceLength(pixels * s.K), "conv2d workspace");
        _conv(LaunchGeometry.Grid(LaunchGeometry.Tiles(pixels, TiledMatmul.Size), LaunchGeometry.Tiles(s.K, TiledMatmul.Size), split.Count, TiledMatmul.Threads),
            x, weight, bias, sampleBias, residual, y, workspace, s, split, SpecializedValue.New(s.R), SpecializedValue.New(s.S));
        if (split.Count > 1) _reduce(LaunchGeometry.Elements(_accelerator, pixels * s.K), workspace, bias, sampleBias, residual, y, s, split.Count);
    }
}
