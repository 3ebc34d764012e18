using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using Diffuser.Cli.Commands;

namespace Diffuser.Cli;

/// <summary>The <c>diffuser</c> command line: the root command, its subcommands, <c>--help</c> and <c>--version</c>.</summary>
public static class DiffuserCli
{
    /// <summary>Every subcommand, in the order help lists them. Adding a command is one line here.</summary>
    private static IEnumerable<Command> Commands(CliContext context) =>
    [
        new GenerateCommand(context),
        new InspectCommand(context),
        new DevicesCommand(context),
        new BenchCommand(context),
    ];

    /// <summary>The product version: the informational version of this assembly (version + source revision).</summary>
    public static string Version { get; } =
        typeof(DiffuserCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DiffuserCli).Assembly.GetName().Version?.ToString() ?? "unknown";

    public static RootCommand CreateRootCommand(CliContext context)
    {
        var root = new RootCommand("Diffuser: Stable Diffusion inference for .NET.");
        foreach (var command in Commands(context)) root.Subcommands.Add(command);
        // The default --version reports the entry assembly, which is the test host when run in-process.
        foreach (var version in root.Options.OfType<VersionOption>()) version.Action = new PrintVersion();
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command they name; returns the exit code.</summary>
    public static int Run(string[] args, CliContext context)
    {
        // Commands stop on the context's token; System.CommandLine's own Ctrl+C handling would end the process
        // after a fixed timeout, possibly in the middle of writing a file.
        var configuration = new InvocationConfiguration { Output = context.Output, Error = context.Error, ProcessTerminationTimeout = null };
        return CreateRootCommand(context).Parse(args).InvokeAsync(configuration, context.Cancellation).GetAwaiter().GetResult();
    }

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return 0;
        }
    }
}
