using Spectre.Console;

namespace Diffuser.Cli;

/// <summary>
/// Where a command writes: <see cref="Console"/> for human output (tables, progress, markup) and <see cref="Output"/>
/// for machine-readable text (JSON) on the same stream, which must not be wrapped or styled; errors go to
/// <see cref="Error"/>. <see cref="Cancellation"/> is what commands stop on (Ctrl+C for the process), and
/// <see cref="Environment"/> where they read environment variables (HF_HOME, HF_ENDPOINT, ...). The process uses
/// stdout/stderr and its own environment; tests pass their own writers, token and variables.
/// </summary>
public sealed class CliContext
{
    private CliContext(IAnsiConsole console, TextWriter output, IAnsiConsole errorConsole, TextWriter error, CancellationToken cancellation,
        Func<string, string?> environment)
    {
        Console = console;
        Output = output;
        ErrorConsole = errorConsole;
        Error = error;
        Cancellation = cancellation;
        Environment = environment;
    }

    public IAnsiConsole Console { get; }
    public TextWriter Output { get; }
    public IAnsiConsole ErrorConsole { get; }
    public TextWriter Error { get; }

    /// <summary>Cancelled when the user asks the running command to stop.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The value of an environment variable, or null.</summary>
    public Func<string, string?> Environment { get; }

    /// <summary>
    /// The process's stdout and stderr, with colours where the terminal supports them. Output redirected to a file
    /// or pipe is not wrapped at 80 columns, and error messages are never wrapped. The first Ctrl+C cancels
    /// <see cref="Cancellation"/> so the command can clean up and exit with 130; a second one ends the process at once.
    /// </summary>
    public static CliContext ForProcess()
    {
        var console = AnsiConsole.Console;
        if (System.Console.IsOutputRedirected) console.Profile.Width = WideLines;
        var errorConsole = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
        errorConsole.Profile.Width = WideLines;
        var interrupt = new CancellationTokenSource();
        System.Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        };
        return new CliContext(console, System.Console.Out, errorConsole, System.Console.Error, interrupt.Token, System.Environment.GetEnvironmentVariable);
    }

    private const int WideLines = 4096;

    /// <summary>
    /// Plain text (no ANSI codes, no interaction, wide lines) into the given writers; <paramref name="environment"/>
    /// null: the process's environment variables.
    /// </summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error, CancellationToken cancellation = default,
        Func<string, string?>? environment = null) =>
        new(PlainConsole(output), output, PlainConsole(error), error, cancellation, environment ?? System.Environment.GetEnvironmentVariable);

    /// <summary>Prints an error: its first line in red after "error:", any further lines (details) plain.</summary>
    public void ReportError(string message)
    {
        string[] lines = message.Split('\n');
        ErrorConsole.MarkupLine($"[red]error:[/] [red]{Markup.Escape(lines[0].TrimEnd('\r'))}[/]");
        foreach (string line in lines.Skip(1)) ErrorConsole.WriteLine(line.TrimEnd('\r'));
    }

    private static IAnsiConsole PlainConsole(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = WideLines;
        return console;
    }
}
