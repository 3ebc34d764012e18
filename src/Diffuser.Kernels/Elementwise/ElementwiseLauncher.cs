using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Loads the element-wise kernels once for an accelerator and one storage type.</summary>
public sealed class ElementwiseLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, int, ActivationKind> _activate;
    private readonly Action<KernelConfig, T, T, T, int, BinaryOp> _binary;
    private readonly Action<KernelConfig, T, T, int, float, float, float, float> _affine;
    private readonly Action<KernelConfig, T, T, T, int, int, int, int> _channelBias;
    private readonly Action<KernelConfig, T, T, int, int> _geglu;

    public ElementwiseLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _activate = accelerator.LoadStream<T, T, int, ActivationKind>(ElementwiseKernels.Activate);
        _binary = accelerator.LoadStream<T, T, T, int, BinaryOp>(ElementwiseKernels.Binary);
        _affine = accelerator.LoadStream<T, T, int, float, float, float, float>(ElementwiseKernels.Affine);
        _channelBias = accelerator.LoadStream<T, T, T, int, int, int, int>(ElementwiseKernels.AddChannelBias);
        _geglu = accelerator.LoadStream<T, T, int, int>(ElementwiseKernels.Geglu);
    }

    private KernelConfig Grid(long count) => LaunchGeometry.Elements(_accelerator, count);

    private static int Count(long length) => LaunchGeometry.CheckedLength(length, "output");

    public void Activate(T x, T y, long count, ActivationKind kind) => _activate(Grid(count), x, y, Count(count), kind);

    public void Binary(T a, T b, T y, long count, BinaryOp op) => _binary(Grid(count), a, b, y, Count(count), op);

    public void Affine(T x, T y, long count, float scale, float shift, float min, float max) =>
        _affine(Grid(count), x, y, Count(count), scale, shift, min, max);

    public void AddChannelBias(T x, T bias, T y, long count, int channels, int spatial, int biasBatchStride) =>
        _channelBias(Grid(count), x, bias, y, Count(count), channels, spatial, biasBatchStride);

    public void Geglu(T x, T y, long count, int half) => _geglu(Grid(count), x, y, Count(count), half);
}
