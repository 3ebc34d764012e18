using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Resample;

/// <summary>Loads the resampling kernels once for an accelerator and one storage type.</summary>
public sealed class ResampleLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, int, int, int, int, int> _upsample;
    private readonly Action<KernelConfig, T, T, int, int, int> _avgPool;

    public ResampleLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _upsample = accelerator.LoadStream<T, T, int, int, int, int, int>(ResampleKernels.UpsampleNearest);
        _avgPool = accelerator.LoadStream<T, T, int, int, int>(ResampleKernels.AvgPool2x2);
    }

    public void UpsampleNearest(T x, T y, long count, int height, int width, int outHeight, int outWidth) =>
        _upsample(LaunchGeometry.Elements(_accelerator, count), x, y, LaunchGeometry.CheckedLength(count, "upsample output"), height, width, outHeight, outWidth);

    public void AvgPool2x2(T x, T y, long count, int height, int width) =>
        _avgPool(LaunchGeometry.Elements(_accelerator, count), x, y, LaunchGeometry.CheckedLength(count, "pool output"), height, width);
}
