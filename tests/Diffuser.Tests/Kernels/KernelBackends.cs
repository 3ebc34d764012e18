using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Backends.Ilgpu;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// One ILGPU backend and one managed backend shared by a test class (kernels compile once). The ILGPU backend is the
/// CPU accelerator, or the GPU when <c>DIFFUSER_TEST_DEVICE</c> names one (cuda, opencl).
/// </summary>
public sealed class KernelBackends : IDisposable
{
    private static string IlgpuDevice => TestBackend.DeviceName is "cuda" or "opencl" ? TestBackend.DeviceName : "ilgpu-cpu";

    private readonly Lazy<Backend> _twoLaunchGroupNorms = new(() =>
        BackendFactory.CreateIlgpu(IlgpuDevice, TensorCoreMode.None, new KernelOptions(OnePassGroupNorm: false)));

    public Backend Ilgpu { get; } = BackendFactory.Create(IlgpuDevice);
    public Backend Cpu { get; } = new CpuBackend();

    /// <summary>The same device with every group norm in two launches (the one-pass kernel's fallback), made on first use.</summary>
    public Backend TwoLaunchGroupNorms => _twoLaunchGroupNorms.Value;

    public void Dispose()
    {
        Ilgpu.Dispose();
        Cpu.Dispose();
        if (_twoLaunchGroupNorms.IsValueCreated) _twoLaunchGroupNorms.Value.Dispose();
    }
}
