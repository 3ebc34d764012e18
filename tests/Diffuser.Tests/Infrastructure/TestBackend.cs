using Diffuser.Backends;
using Diffuser.Backends.Cpu;

namespace Diffuser.Tests.Infrastructure;

/// <summary>
/// The backend that golden tests (ops, models, schedulers, pipelines) run on: <c>cpu</c> by default, or the device
/// named by the environment variable <c>DIFFUSER_TEST_DEVICE</c> (the GPU script sets <c>cuda</c>), so the same
/// goldens check the ILGPU kernels on a real GPU.
/// </summary>
public static class TestBackend
{
    public static string DeviceName => Environment.GetEnvironmentVariable("DIFFUSER_TEST_DEVICE") is { Length: > 0 } d ? d : "cpu";

    public static Backend Create() => DeviceName switch
    {
        "cpu" => new CpuBackend(),
        var other => throw new InvalidOperationException($"DIFFUSER_TEST_DEVICE={other} is not a backend this build knows."),
    };
}
