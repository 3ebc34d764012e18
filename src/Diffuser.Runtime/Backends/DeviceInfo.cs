namespace Diffuser.Backends;

/// <summary>What <c>diffuser devices</c> prints about one device.</summary>
/// <param name="Backend">cpu, cuda, opencl or ilgpu-cpu.</param>
/// <param name="Name">The device's own name.</param>
/// <param name="MemoryBytes">Device memory (host memory for CPU devices).</param>
/// <param name="WarpSize">Warp / sub-group width (1 for the managed CPU backend).</param>
/// <param name="Capability">Compute capability or driver version, as the device reports it.</param>
/// <param name="UnusableReason">Null when the device can run Diffuser; otherwise why it cannot.</param>
public sealed record DeviceInfo(
    string Backend,
    string Name,
    long MemoryBytes,
    int WarpSize,
    string Capability,
    string? UnusableReason = null)
{
    public bool IsUsable => UnusableReason is null;
}
