using System.Text.Json;
using Diffuser.Backends;

namespace Diffuser.Tests.Cli;

/// <summary><c>diffuser devices</c>: the table and the JSON list what <see cref="BackendFactory.ListDevices"/> reports.</summary>
public sealed class DevicesCommandTests
{
    [Fact]
    public void TableHasARowPerDeviceWithTheCpuUsable()
    {
        var result = CliRunner.Run("devices");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n');
        foreach (var device in BackendFactory.ListDevices())
        {
            string row = Assert.Single(lines, l => l.Contains($" {device.Backend} ") && l.Contains(device.Name));
            Assert.Contains(device.IsUsable ? " yes " : $"no: {device.UnusableReason}", row);
            Assert.Contains(device.Capability, row);
        }
        Assert.Contains(lines, l => l.Contains(" cpu ") && l.Contains(" yes "));
    }

    [Fact]
    public void JsonListsEveryDevice()
    {
        var result = CliRunner.Run("devices", "--json");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var devices = json.RootElement.EnumerateArray().ToList();
        var expected = BackendFactory.ListDevices();
        Assert.Equal(expected.Select(d => (d.Backend, d.Name)), devices.Select(d => (d.GetProperty("backend").GetString()!, d.GetProperty("name").GetString()!)));
        var cpu = Assert.Single(devices, d => d.GetProperty("backend").GetString() == "cpu");
        Assert.True(cpu.GetProperty("isUsable").GetBoolean());
        Assert.True(cpu.GetProperty("memoryBytes").GetInt64() > 0);
        Assert.Equal(1, cpu.GetProperty("warpSize").GetInt32());
    }
}
