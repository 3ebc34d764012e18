using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// One ILGPU backend and one managed backend shared by a test class (kernels compile once). The ILGPU backend is the
/// CPU accelerator, or the GPU when <c>DIFFUSER_TEST_DEVICE</c> names one (cuda, opencl).
/// </summary>
public sealed class KernelBackends : IDisposable
{
    public Backend Ilgpu { get; } = BackendFactory.Create(TestBackend.DeviceName is "cuda" or "opencl" ? TestBackend.DeviceName : "ilgpu-cpu");
    public Backend Cpu { get; } = new CpuBackend();

    public void Dispose()
    {
        Ilgpu.Dispose();
        Cpu.Dispose();
    }
}
