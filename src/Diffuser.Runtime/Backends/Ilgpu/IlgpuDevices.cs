using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// The process-wide ILGPU contexts (built once: CUDA and OpenCL's, and the CPU accelerator's) and what Diffuser makes of
/// each device they find.
/// </summary>
internal static class IlgpuDevices
{
    /// <summary>
    /// The CPU accelerator that kernel tests run on: 32-lane warps like CUDA and groups of up to 256 threads, the
    /// largest group any kernel launches, on four simulated multiprocessors (so that split-K also splits batched products).
    /// </summary>
    private static readonly CPUDevice TestCpu = new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 4);

    private static readonly Lazy<Context> GpuContext = new(() => Context.Create(builder =>
    {
        // Every OpenCL device is registered so that devices ILGPU cannot use are still listed, with the reason.
        builder.Cuda().OpenCL(_ => true).EnableAlgorithms();
#if !DEBUG
        builder.Optimize(OptimizationLevel.O2);
#endif
    }));

    /// <summary>
    /// The CPU accelerator's context, apart: it runs a kernel's own .NET code, so ILGPU's optimisation level only
    /// changes how long a kernel takes to load there (a tensor-core GEMM about 5 s at O0, 11 s at O2; the same run time).
    /// </summary>
    private static readonly Lazy<Context> CpuContext = new(() => Context.Create(builder =>
        builder.CPU(TestCpu).EnableAlgorithms().Optimize(OptimizationLevel.O0)));

    /// <summary>The context that <paramref name="device"/> belongs to.</summary>
    public static Context ContextOf(Device device) => device is CPUDevice ? CpuContext.Value : GpuContext.Value;

    /// <summary>The backend name (cuda, opencl, ilgpu-cpu) for a device.</summary>
    public static string BackendName(Device device) => device switch
    {
        CudaDevice => "cuda",
        CLDevice => "opencl",
        _ => "ilgpu-cpu",
    };

    /// <summary>Every device ILGPU sees, described; unusable ones carry the reason.</summary>
    /// <remarks>ILGPU adds a CPU device of its own to a context that would otherwise have none: the GPUs' context's is left out.</remarks>
    public static IEnumerable<(Device Device, DeviceInfo Info)> All() =>
        GpuContext.Value.Devices.Where(d => d is not CPUDevice).Concat(CpuContext.Value.Devices).Select(d => (d, Describe(d)));

    public static DeviceInfo Describe(Device device) => device switch
    {
        CudaDevice cuda => new DeviceInfo("cuda", cuda.Name, cuda.MemorySize, cuda.WarpSize,
            $"compute {cuda.Architecture?.ToString() ?? "unknown"}, driver {cuda.DriverVersion}" +
            (cuda.Architecture is { Major: >= 8 } ? ", tensor cores for fp16 (mma.sync)" : ""),
            cuda.Architecture is null ? $"ILGPU 1.5.3 does not know this GPU's compute capability (driver {cuda.DriverVersion})" : null),
        CLDevice cl => new DeviceInfo("opencl", cl.Name, cl.MemorySize, cl.WarpSize,
            $"{cl.PlatformName} {cl.DeviceVersion}, OpenCL C {cl.CVersion}, {cl.VendorName}",
            cl.Capabilities.GenericAddressSpace ? null
                : $"ILGPU's OpenCL backend needs generic address space support, which {cl.PlatformName} ({cl.DeviceVersion}) does not report"),
        _ => new DeviceInfo("ilgpu-cpu", $"ILGPU CPU accelerator ({device.NumMultiprocessors}×{device.MaxNumThreadsPerMultiprocessor} threads)",
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, device.WarpSize, $"simulated warps of {device.WarpSize}, for kernel tests only"),
    };
}
