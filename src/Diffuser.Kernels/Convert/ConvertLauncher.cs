using Diffuser.Kernels.Launch;
using ILGPU;
using Half = ILGPU.Half;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Convert;

/// <summary>Loads the conversion kernels once for an accelerator.</summary>
public sealed class ConvertLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<ushort>, int> _toHalf;
    private readonly Action<KernelConfig, ArrayView<Half>, ArrayView<float>, int> _toSingle;

    public ConvertLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _toHalf = accelerator.LoadStream<ArrayView<float>, ArrayView<ushort>, int>(ConvertKernels.ToHalf);
        _toSingle = accelerator.LoadStream<ArrayView<Half>, ArrayView<float>, int>(ConvertKernels.ToSingle);
    }

    public void ToHalf(ArrayView<float> x, ArrayView<Half> y) =>
        _toHalf(LaunchGeometry.Elements(_accelerator, y.Length), x, y.Cast<ushort>(), LaunchGeometry.CheckedLength(y.Length, "conversion"));

    public void ToSingle(ArrayView<Half> x, ArrayView<float> y) =>
        _toSingle(LaunchGeometry.Elements(_accelerator, y.Length), x, y, LaunchGeometry.CheckedLength(y.Length, "conversion"));
}
