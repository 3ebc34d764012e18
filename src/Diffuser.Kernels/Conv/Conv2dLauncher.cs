using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Conv;

/// <summary>Loads the implicit-GEMM convolution once for an accelerator (one compiled variant per kernel size).</summary>
public sealed class Conv2dLauncher
{
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        Conv2dShape, SpecializedValue<int>, SpecializedValue<int>> _conv;

    public Conv2dLauncher(Accelerator accelerator) =>
        _conv = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            Conv2dShape, SpecializedValue<int>, SpecializedValue<int>>(Conv2dKernels.Conv2d);

    /// <summary>y = conv(x, weight) + bias + residual; empty views stand for an absent bias or residual.</summary>
    public void Run(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, Conv2dShape s)
    {
        long pixels = (long)s.N * s.OH * s.OW;
        LaunchGeometry.CheckedLength(pixels * s.K, "conv2d output");
        _conv(LaunchGeometry.Grid(LaunchGeometry.Tiles(pixels, TiledMatmul.Size), LaunchGeometry.Tiles(s.K, TiledMatmul.Size), 1, TiledMatmul.Threads),
            x, weight, bias, residual, y, s, SpecializedValue.New(s.R), SpecializedValue.New(s.S));
    }
}
