using System.CommandLine;

namespace Diffuser.Cli;

/// <summary>
/// The base of every subcommand: declare arguments and options in the constructor, do the work in
/// <see cref="Execute"/> and return the exit code. A <see cref="DiffuserException"/> (bad input, file or config)
/// becomes a one-line red error and exit code 1, never a stack trace; Ctrl+C cancels the token and exits 130.
/// </summary>
public abstract class DiffuserCommand : Command
{
    protected DiffuserCommand(CliContext context, string name, string description) : base(name, description)
    {
        Context = context;
        SetAction((result, cancellation) => Task.FromResult(Run(result, cancellation)));
    }

    protected CliContext Context { get; }

    /// <summary>Runs the command; <paramref name="result"/> holds the parsed arguments and options.</summary>
    protected abstract int Execute(ParseResult result, CancellationToken cancellation);

    private int Run(ParseResult result, CancellationToken cancellation)
    {
        try
        {
            return Execute(result, cancellation);
        }
        catch (DiffuserException e)
        {
            Context.ReportError(e.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Context.ReportError("cancelled");
            return 130;
        }
    }
}
