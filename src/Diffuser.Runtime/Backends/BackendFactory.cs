using Diffuser.Backends.Cpu;
using Diffuser.Backends.Ilgpu;

namespace Diffuser.Backends;

/// <summary>Creates a backend from its <c>--device</c> name and lists the devices this machine offers.</summary>
public static class BackendFactory
{
    /// <summary>Every name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> DeviceNames { get; } = ["auto", "cuda", "opencl", "cpu", "ilgpu-cpu"];

    /// <summary>
    /// A backend for <paramref name="device"/>: <c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c> (ILGPU's CPU accelerator,
    /// for kernel tests), <c>cpu</c> (managed), or <c>auto</c> (the first usable CUDA device, else OpenCL, else cpu).
    /// Throws a <see cref="DiffuserException"/> for an unknown name or a device this machine does not have.
    /// </summary>
    public static Backend Create(string device)
    {
        string name = device.Trim().ToLowerInvariant();
        return name switch
        {
            "cpu" => new CpuBackend(),
            "auto" => (Backend?)TryIlgpu("cuda") ?? (Backend?)TryIlgpu("opencl") ?? new CpuBackend(),
            "cuda" or "opencl" or "ilgpu-cpu" => TryIlgpu(name) ?? throw Absent(name),
            _ => throw new DiffuserException($"Unknown device '{device}'. Valid devices: {string.Join(", ", DeviceNames)}."),
        };
    }

    /// <summary>Every device ILGPU sees plus the managed cpu backend; devices that cannot run Diffuser say why.</summary>
    public static IReadOnlyList<DeviceInfo> ListDevices()
    {
        var devices = new List<DeviceInfo>();
        try
        {
            devices.AddRange(IlgpuDevices.All().Select(d => d.Info));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            devices.Add(new DeviceInfo("ilgpu", "ILGPU", 0, 0, "none", $"ILGPU failed to start: {e.Message}"));
        }
        using var cpu = new CpuBackend();
        devices.Add(cpu.Device);
        return devices;
    }

    private static IlgpuBackend? TryIlgpu(string backendName, TensorCoreMode? tensorCores = null, KernelOptions? options = null)
    {
        foreach (var (device, info) in IlgpuDevices.All())
            if (IlgpuDevices.BackendName(device) == backendName && info.IsUsable)
                return new IlgpuBackend(Start(device, info), backendName, info, tensorCores, options);
        return null;
    }

    /// <summary>An ILGPU backend whose fp16 GEMMs and convolutions take the path <paramref name="tensorCores"/>, with <paramref name="options"/> (all on by default; tests).</summary>
    internal static IlgpuBackend CreateIlgpu(string backendName, TensorCoreMode tensorCores, KernelOptions? options = null) =>
        TryIlgpu(backendName, tensorCores, options ?? new KernelOptions()) ?? throw Absent(backendName);

    private static ILGPU.Runtime.Accelerator Start(ILGPU.Runtime.Device device, DeviceInfo info)
    {
        try
        {
            return device.CreateAccelerator(IlgpuDevices.ContextOf(device));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DiffuserException($"Could not start {info.Backend} device {info.Name}: {e.Message}");
        }
    }

    private static DiffuserException Absent(string backendName)
    {
        var unusable = IlgpuDevices.All().Where(d => d.Info.Backend == backendName).Select(d => $"{d.Info.Name}: {d.Info.UnusableReason}").ToList();
        return new DiffuserException(unusable.Count == 0
            ? $"No {backendName} device found. Run 'diffuser devices' to see what this machine offers, or use --device cpu."
            : $"No usable {backendName} device: {string.Join("; ", unusable)}. Use --device cpu instead.");
    }
}
