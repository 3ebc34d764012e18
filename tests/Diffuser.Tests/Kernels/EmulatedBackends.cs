using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Backends.Ilgpu;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The CPU accelerator's backends a test class asks for, one per tensor-core mode and set of kernel options, each made
/// on first use and shared by the class's tests (a backend compiles each kernel specialisation once, 2–8 s for a
/// tensor-core GEMM, which a new backend would pay again in every test), and the managed backend they are compared
/// with. <see cref="KernelBackends"/> is the other fixture: the device under test as the environment sets it up.
/// </summary>
public sealed class EmulatedBackends : IDisposable
{
    private readonly Dictionary<(TensorCoreMode, KernelOptions), Backend> _backends = [];

    public Backend Cpu { get; } = new CpuBackend();

    internal Backend Get(TensorCoreMode tensorCores, KernelOptions? options = null)
    {
        options ??= new KernelOptions();
        lock (_backends)
        {
            if (!_backends.TryGetValue((tensorCores, options), out var backend))
                _backends.Add((tensorCores, options), backend = BackendFactory.CreateIlgpu("ilgpu-cpu", tensorCores, options));
            return backend;
        }
    }

    public void Dispose()
    {
        foreach (var backend in _backends.Values) backend.Dispose();
        Cpu.Dispose();
    }
}
