using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Resample;

/// <summary>Loads the resampling kernels once for an accelerator.</summary>
public sealed class ResampleLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int, int> _upsample;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int> _avgPool;

    public ResampleLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _upsample = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int, int>(ResampleKernels.UpsampleNearest);
        _avgPool = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(ResampleKernels.AvgPool2x2);
    }

    public void UpsampleNearest(ArrayView<float> x, ArrayView<float> y, int height, int width, int outHeight, int outWidth) =>
        _upsample(LaunchGeometry.Elements(_accelerator, y.Length), x, y, LaunchGeometry.CheckedLength(y.Length, "upsample output"), height, width, outHeight, outWidth);

    public void AvgPool2x2(ArrayView<float> x, ArrayView<float> y, int height, int width) =>
        _avgPool(LaunchGeometry.Elements(_accelerator, y.Length), x, y, LaunchGeometry.CheckedLength(y.Length, "pool output"), height, width);
}
