using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>Loads the GEMM kernel once for an accelerator (one compiled variant per fused activation).</summary>
public sealed class GemmLauncher
{
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, SpecializedValue<int>> _gemm;

    public GemmLauncher(Accelerator accelerator) =>
        _gemm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, SpecializedValue<int>>(
            GemmKernels.Gemm);

    /// <summary>C = act(alpha · op(A) · op(B) + bias); <paramref name="bias"/> may be empty when the shape has none.</summary>
    public void Run(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, GemmShape s) =>
        _gemm(LaunchGeometry.Grid(LaunchGeometry.Tiles(s.N, TiledMatmul.Size), LaunchGeometry.Tiles(s.M, TiledMatmul.Size), s.Batch, TiledMatmul.Threads),
            a, b, bias, c, s, SpecializedValue.New((int)s.Activation));
}
