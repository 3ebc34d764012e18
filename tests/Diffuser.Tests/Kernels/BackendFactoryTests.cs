using Diffuser.Backends;
using Diffuser.Diagnostics;

namespace Diffuser.Tests.Kernels;

public class BackendFactoryTests
{
    [Fact]
    public void UnknownDeviceNamesTheValidOnes()
    {
        var e = Assert.Throws<DiffuserException>(() => BackendFactory.Create("tpu"));
        Assert.Contains("'tpu'", e.Message);
        foreach (var name in BackendFactory.DeviceNames) Assert.Contains(name, e.Message);
    }

    [Theory, InlineData("cpu"), InlineData("CPU")]
    public void CpuIsTheManagedBackend(string name)
    {
        using var backend = BackendFactory.Create(name);
        Assert.Equal("cpu", backend.Name);
    }

    [Fact]
    public void IlgpuCpuRunsOnTheCpuAccelerator()
    {
        using var backend = BackendFactory.Create("ilgpu-cpu");
        Assert.Equal("ilgpu-cpu", backend.Name);
        Assert.Equal(32, backend.Device.WarpSize);
        Assert.True(backend.Device.IsUsable);
    }

    [Theory, InlineData("cuda"), InlineData("opencl")]
    public void GpuDeviceIsCreatedOrExplainedAbsent(string name)
    {
        try
        {
            using var backend = BackendFactory.Create(name);
            Assert.Equal(name, backend.Name);
        }
        catch (DiffuserException e)
        {
            Assert.Contains(name, e.Message);
            Assert.DoesNotContain(BackendFactory.ListDevices(), d => d.Backend == name && d.IsUsable);
        }
    }

    [Fact]
    public void AutoPicksAUsableDevice()
    {
        using var backend = BackendFactory.Create("auto");
        Assert.Contains(backend.Name, new[] { "cuda", "opencl", "cpu" });
        Assert.True(backend.Device.IsUsable);
    }

    [Fact]
    public void ListDevicesIncludesBothCpuBackends()
    {
        var devices = BackendFactory.ListDevices();
        Assert.Contains(devices, d => d.Backend == "cpu" && d.IsUsable && d.MemoryBytes > 0);
        // The tests' CPU accelerator alone: ILGPU's own CPU device in the GPUs' context (groups of at most 16³) is left out.
        var ilgpuCpu = Assert.Single(devices, d => d.Backend == "ilgpu-cpu");
        Assert.Equal(32, ilgpuCpu.WarpSize);
        Assert.Contains("4×256 threads", ilgpuCpu.Name, StringComparison.Ordinal);
        Assert.All(devices, d => Assert.False(string.IsNullOrWhiteSpace(d.Name)));
    }

    [Fact]
    public void OpCaseIdsAreUniqueAndCostsPositive()
    {
        var all = OpCases.All.ToList();
        Assert.Equal(all.Count, all.Select(c => c.Id).Distinct().Count());
        Assert.All(all, c => Assert.True(c.Bytes > 0 && c.Flops >= 0, c.Id));
    }
}
