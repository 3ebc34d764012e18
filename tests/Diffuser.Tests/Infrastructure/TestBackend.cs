using Diffuser.Backends;

namespace Diffuser.Tests.Infrastructure;

/// <summary>
/// The backend that golden tests (ops, models, schedulers, pipelines) run on: <c>cpu</c> by default, or the device
/// named by the environment variable <c>DIFFUSER_TEST_DEVICE</c> (any name <see cref="BackendFactory"/> knows:
/// cuda, opencl, ilgpu-cpu, auto), so the same goldens check the ILGPU kernels.
/// </summary>
public static class TestBackend
{
    public static string DeviceName => Environment.GetEnvironmentVariable("DIFFUSER_TEST_DEVICE") is { Length: > 0 } d ? d : "cpu";

    public static Backend Create() => BackendFactory.Create(DeviceName);
}
