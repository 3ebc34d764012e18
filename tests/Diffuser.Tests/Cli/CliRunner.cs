using Diffuser.Cli;

namespace Diffuser.Tests.Cli;

/// <summary>What one in-process run of the <c>diffuser</c> command line printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the <c>diffuser</c> command line in-process, capturing stdout and stderr.</summary>
public static class CliRunner
{
    public static CliResult Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = DiffuserCli.Run(args, CliContext.ForWriters(output, error));
        return new CliResult(exit, output.ToString(), error.ToString());
    }
}
