using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Loads the data-movement kernels once for an accelerator and one storage type.</summary>
public sealed class LayoutLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, T, int, int, int> _concat;
    private readonly Action<KernelConfig, T, T, int, int, int, int> _narrow;
    private readonly Action<KernelConfig, T, T, int, int> _transpose;

    public LayoutLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _concat = accelerator.LoadStream<T, T, T, int, int, int>(LayoutKernels.Concat);
        _narrow = accelerator.LoadStream<T, T, int, int, int, int>(LayoutKernels.Narrow);
        _transpose = accelerator.LoadStream<T, T, int, int>(LayoutKernels.Transpose);
    }

    public void Concat(T a, T b, T y, long count, int innerA, int innerB) =>
        _concat(LaunchGeometry.Elements(_accelerator, count), a, b, y, LaunchGeometry.CheckedLength(count, "concat output"), innerA, innerB);

    public void Narrow(T x, T y, long count, int sourceInner, int start, int length) =>
        _narrow(LaunchGeometry.Elements(_accelerator, count), x, y, LaunchGeometry.CheckedLength(count, "narrow output"), sourceInner, start, length);

    public void Transpose(T x, T y, int batch, int rows, int cols) =>
        _transpose(LaunchGeometry.Grid(LaunchGeometry.Tiles(cols, LayoutKernels.TransposeTile), LaunchGeometry.Tiles(rows, LayoutKernels.TransposeTile), batch,
            LayoutKernels.TransposeTile * LayoutKernels.TransposeRowsPerPass), x, y, rows, cols);
}
