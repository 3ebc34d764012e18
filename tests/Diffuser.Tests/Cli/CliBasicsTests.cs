using System.Reflection;
using Diffuser.Cli;

namespace Diffuser.Tests.Cli;

/// <summary>The root command: help, version and unknown input.</summary>
public class CliBasicsTests
{
    [Fact]
    public void HelpListsTheCommands()
    {
        var result = CliRunner.Run("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output);
        foreach (string command in new[] { "generate", "inspect", "devices" }) Assert.Contains(command, result.Output);
        Assert.Contains("--version", result.Output);
    }

    [Fact]
    public void CommandHelpDescribesItsArguments()
    {
        var result = CliRunner.Run("inspect", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("<path>", result.Output);
        Assert.Contains("--json", result.Output);
    }

    [Fact]
    public void VersionPrintsTheProductVersion()
    {
        var result = CliRunner.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(DiffuserCli.Version, result.Output.Trim());
        var assemblyVersion = typeof(DiffuserCli).Assembly.GetName().Version!;
        Assert.StartsWith($"{assemblyVersion.Major}.{assemblyVersion.Minor}.{assemblyVersion.Build}", result.Output);
        Assert.Equal(DiffuserCli.Version,
            typeof(DiffuserCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion);
    }

    [Fact]
    public void UnknownCommandFails()
    {
        var result = CliRunner.Run("frobnicate");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("frobnicate", result.Error);
    }
}
