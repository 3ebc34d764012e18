using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// ILGPU's CPU accelerator with warps of 32 and groups of up to 256 threads (every norm kernel's), on
/// <paramref name="multiprocessors"/> multiprocessors, each running one group at a time: a fixture shared by a test
/// class's cases, so that its threads start and its kernels compile once (at O0, as the backend's CPU accelerator: the
/// accelerator runs the kernels' .NET code, and ILGPU's optimisations would only make them load slower).
/// </summary>
public abstract class CpuAcceleratorFixture(int multiprocessors) : IDisposable
{
    private readonly Context _context = Context.Create(builder =>
        builder.CPU(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: multiprocessors)).Optimize(OptimizationLevel.O0));

    private Accelerator? _accelerator;

    public Accelerator Accelerator => _accelerator ??= _context.CreateCPUAccelerator(0);

    public void Dispose()
    {
        _accelerator?.Dispose();
        _context.Dispose();
        GC.SuppressFinalize(this);
    }
}
