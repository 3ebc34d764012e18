using Diffuser.Backends;
using Diffuser.Backends.Cpu;

namespace Diffuser.Tests.Kernels;

/// <summary>One ILGPU CPU-accelerator backend and one managed backend shared by a test class (kernels compile once).</summary>
public sealed class KernelBackends : IDisposable
{
    public Backend Ilgpu { get; } = BackendFactory.Create("ilgpu-cpu");
    public Backend Cpu { get; } = new CpuBackend();

    public void Dispose()
    {
        Ilgpu.Dispose();
        Cpu.Dispose();
    }
}
