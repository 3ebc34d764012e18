using Spectre.Console;

namespace Diffuser.Cli;

/// <summary>
/// Where a command writes: <see cref="Console"/> for human output (tables, progress, markup) and <see cref="Output"/>
/// for machine-readable text (JSON) on the same stream, which must not be wrapped or styled; errors go to
/// <see cref="Error"/>. The process uses stdout/stderr; tests pass their own writers.
/// </summary>
public sealed class CliContext
{
    private CliContext(IAnsiConsole console, TextWriter output, IAnsiConsole errorConsole, TextWriter error)
    {
        Console = console;
        Output = output;
        ErrorConsole = errorConsole;
        Error = error;
    }

    public IAnsiConsole Console { get; }
    public TextWriter Output { get; }
    public IAnsiConsole ErrorConsole { get; }
    public TextWriter Error { get; }

    /// <summary>
    /// The process's stdout and stderr, with colours where the terminal supports them. Output redirected to a file
    /// or pipe is not wrapped at 80 columns, and error messages are never wrapped.
    /// </summary>
    public static CliContext ForProcess()
    {
        var console = AnsiConsole.Console;
        if (System.Console.IsOutputRedirected) console.Profile.Width = WideLines;
        var errorConsole = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
        errorConsole.Profile.Width = WideLines;
        return new CliContext(console, System.Console.Out, errorConsole, System.Console.Error);
    }

    private const int WideLines = 4096;

    /// <summary>Plain text (no ANSI codes, no interaction, wide lines) into the given writers.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error) =>
        new(PlainConsole(output), output, PlainConsole(error), error);

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
