using Diffuser.Cli;

namespace Diffuser.Tests.Cli;

/// <summary>What one in-process run of the <c>diffuser</c> command line printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the <c>diffuser</c> command line in-process, capturing stdout and stderr.</summary>
public static class CliRunner
{
    public static CliResult Run(params string[] args) => Run(args, CancellationToken.None);

    /// <summary>Runs with environment variables <paramref name="environment"/> only (as if the process had no others).</summary>
    public static CliResult RunWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Run(args, CancellationToken.None, environment);

    /// <summary>Runs and cancels the context's token, as Ctrl+C does, as soon as stdout contains <paramref name="trigger"/>.</summary>
    public static CliResult RunCancelledAt(string trigger, params string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        return Run(args, interrupt.Token, output: new WatchingWriter(trigger, interrupt.Cancel));
    }

    private static CliResult Run(string[] args, CancellationToken cancellation, IReadOnlyDictionary<string, string>? environment = null,
        StringWriter? output = null)
    {
        output ??= new StringWriter();
        var error = new StringWriter();
        var context = CliContext.ForWriters(output, error, cancellation, environment is null ? null : name => environment.GetValueOrDefault(name));
        int exit = DiffuserCli.Run(args, context);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>A StringWriter that calls <paramref name="onSeen"/> once its text contains <paramref name="trigger"/>.</summary>
    private sealed class WatchingWriter(string trigger, Action onSeen) : StringWriter
    {
        private bool _seen;

        public override void Write(char value)
        {
            base.Write(value);
            Check();
        }

        public override void Write(string? value)
        {
            base.Write(value);
            Check();
        }

        public override void Write(char[] buffer, int index, int count)
        {
            base.Write(buffer, index, count);
            Check();
        }

        private void Check()
        {
            if (_seen || !ToString().Contains(trigger, StringComparison.Ordinal)) return;
            _seen = true;
            onSeen();
        }
    }
}
