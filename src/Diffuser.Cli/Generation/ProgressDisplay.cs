using System.Globalization;
using Diffuser.Hub;
using Diffuser.Pipelines;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Diffuser.Cli.Generation;

/// <summary>
/// Shows how a model download and the denoising steps advance: live progress bars (step, it/s, ETA; bytes and
/// speed per file) on an interactive terminal, plain lines otherwise (output redirected, tests), so logs stay
/// readable: one line per tenth of the steps, one when each file starts and ends.
/// </summary>
public sealed class ProgressDisplay(IAnsiConsole console)
{
    private const string RateKey = "rate", EtaKey = "eta";

    private bool Live => console.Profile.Capabilities is { Interactive: true, Ansi: true };

    /// <summary>Runs <paramref name="work"/>, showing what it reports of each file's download.</summary>
    public T Downloads<T>(Func<IProgress<DownloadProgress>, T> work)
    {
        if (!Live)
        {
            var started = new HashSet<string>(StringComparer.Ordinal);
            return work(new Reporter<DownloadProgress>(p =>
            {
                lock (started)
                    if (started.Add(p.File) || p.IsComplete) PrintDownload(p);
            }));
        }
        return console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                return work(new Reporter<DownloadProgress>(p =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(p.File, out var task))
                            tasks[p.File] = task = context.AddTask(Markup.Escape($"{p.FileNumber}/{p.FileCount} {p.File}"), maxValue: Math.Max(p.BytesTotal, 1));
                        task.Value = p.BytesDone;
                    }
                }));
            });
    }

    /// <summary>Runs <paramref name="work"/>, showing each denoising step it reports.</summary>
    public T Steps<T>(Func<IProgress<GenerationProgress>, T> work)
    {
        if (!Live)
        {
            int lastTenth = -1;
            return work(new Reporter<GenerationProgress>(p =>
            {
                var (done, total) = Overall(p);
                int tenth = (int)(10L * done / total);
                if (tenth == lastTenth && p.Step != p.TotalSteps) return;
                lastTenth = tenth;
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {done}/{total}{BatchText(p)}, {p.IterationsPerSecond:F2} it/s, ETA {Duration(Remaining(p))}"));
            }));
        }
        return console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new StepColumn(), new RateColumn())
            .Start(context =>
            {
                ProgressTask? task = null;
                return work(new Reporter<GenerationProgress>(p =>
                {
                    var (done, total) = Overall(p);
                    task ??= context.AddTask("denoising", maxValue: total);
                    task.Description = p.BatchCount > 1 ? $"batch {p.Batch + 1}/{p.BatchCount}" : "denoising";
                    task.State.Update<double>(RateKey, _ => p.IterationsPerSecond);
                    task.State.Update<double>(EtaKey, _ => Remaining(p).TotalSeconds);
                    task.Value = done;
                }));
            });
    }

    /// <summary>A plain line when a file's download starts (or resumes) and when it is complete.</summary>
    private void PrintDownload(DownloadProgress p)
    {
        string size = p.BytesTotal >= 0 ? ByteSize.Format(p.BytesTotal) : "size unknown";
        console.WriteLine($"download {p.FileNumber}/{p.FileCount} {p.Repository}/{p.File} ({size}){(p.IsComplete ? ": done" : "")}");
    }

    /// <summary>Steps done and to do over all batches (each batch runs the same number of model calls).</summary>
    private static (long Done, long Total) Overall(GenerationProgress p) =>
        ((long)p.Batch * p.TotalSteps + p.Step, (long)p.BatchCount * p.TotalSteps);

    private static TimeSpan Remaining(GenerationProgress p)
    {
        var (done, total) = Overall(p);
        return p.IterationsPerSecond > 0 ? TimeSpan.FromSeconds((total - done) / p.IterationsPerSecond) : TimeSpan.Zero;
    }

    private static string BatchText(GenerationProgress p) => p.BatchCount > 1 ? $" (batch {p.Batch + 1}/{p.BatchCount})" : "";

    private static string Duration(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    /// <summary>Calls back on the reporting thread (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>"12/25": steps done of all.</summary>
    private sealed class StepColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Spectre.Console.Text(string.Create(CultureInfo.InvariantCulture, $"{task.Value:0}/{task.MaxValue:0}"));
    }

    /// <summary>"3.41 it/s ETA 0:07", from what the pipeline measured.</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Spectre.Console.Text(string.Create(CultureInfo.InvariantCulture,
                $"{task.State.Get<double>(RateKey):F2} it/s  ETA {Duration(TimeSpan.FromSeconds(task.State.Get<double>(EtaKey)))}"));
    }
}
