using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Loads the element-wise kernels once for an accelerator.</summary>
public sealed class ElementwiseLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, ActivationKind> _activate;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, BinaryOp> _binary;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float, float, float, float> _affine;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> _channelBias;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> _geglu;

    public ElementwiseLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _activate = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, ActivationKind>(ElementwiseKernels.Activate);
        _binary = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, BinaryOp>(ElementwiseKernels.Binary);
        _affine = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float, float, float, float>(ElementwiseKernels.Affine);
        _channelBias = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(ElementwiseKernels.AddChannelBias);
        _geglu = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Geglu);
    }

    private KernelConfig Grid(long count) => LaunchGeometry.Elements(_accelerator, count);

    private static int Count(ArrayView<float> y) => LaunchGeometry.CheckedLength(y.Length, "output");

    public void Activate(ArrayView<float> x, ArrayView<float> y, ActivationKind kind) => _activate(Grid(y.Length), x, y, Count(y), kind);

    public void Binary(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, BinaryOp op) => _binary(Grid(y.Length), a, b, y, Count(y), op);

    public void Affine(ArrayView<float> x, ArrayView<float> y, float scale, float shift, float min, float max) =>
        _affine(Grid(y.Length), x, y, Count(y), scale, shift, min, max);

    public void AddChannelBias(ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y, int channels, int spatial, int biasBatchStride) =>
        _channelBias(Grid(y.Length), x, bias, y, Count(y), channels, spatial, biasBatchStride);

    public void Geglu(ArrayView<float> x, ArrayView<float> y, int half) => _geglu(Grid(y.Length), x, y, Count(y), half);
}
