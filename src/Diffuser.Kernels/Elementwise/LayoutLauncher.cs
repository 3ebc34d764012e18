using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Loads the data-movement kernels once for an accelerator.</summary>
public sealed class LayoutLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _concat;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int> _narrow;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> _transpose;

    public LayoutLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _concat = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(LayoutKernels.Concat);
        _narrow = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int>(LayoutKernels.Narrow);
        _transpose = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(LayoutKernels.Transpose);
    }

    public void Concat(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int innerA, int innerB) =>
        _concat(LaunchGeometry.Elements(_accelerator, y.Length), a, b, y, LaunchGeometry.CheckedLength(y.Length, "concat output"), innerA, innerB);

    public void Narrow(ArrayView<float> x, ArrayView<float> y, int sourceInner, int start, int length) =>
        _narrow(LaunchGeometry.Elements(_accelerator, y.Length), x, y, LaunchGeometry.CheckedLength(y.Length, "narrow output"), sourceInner, start, length);

    public void Transpose(ArrayView<float> x, ArrayView<float> y, int batch, int rows, int cols) =>
        _transpose(LaunchGeometry.Grid(LaunchGeometry.Tiles(cols, LayoutKernels.TransposeTile), LaunchGeometry.Tiles(rows, LayoutKernels.TransposeTile), batch,
            LayoutKernels.TransposeTile * LayoutKernels.TransposeRowsPerPass), x, y, rows, cols);
}
