using System.Globalization;
using Spectre.Console;

namespace Diffuser.Cli.Generation;

/// <summary>What <c>diffuser generate</c> did: printed as a summary, or as JSON with <c>--json</c>.</summary>
/// <param name="Model">The model's name (hub id, folder name or checkpoint file stem) and <paramref name="ModelFolder"/> the folder (or single-file checkpoint) it was loaded from.</param>
/// <param name="Device">The backend and device that ran it.</param>
/// <param name="Mode">txt2img, img2img or inpaint.</param>
/// <param name="Sampler">A1111's name of the sampler, and <paramref name="ScheduleType"/> its schedule (null: the sampler's own).</param>
/// <param name="Seeds">The seed of every image, in order.</param>
/// <param name="LatentsFile">Where the final latents were written (--save-latents), or null.</param>
public sealed record GenerationReport(
    string Model,
    string ModelFolder,
    string Device,
    string Mode,
    int Width,
    int Height,
    int Steps,
    string Sampler,
    string? ScheduleType,
    double Guidance,
    IReadOnlyList<ImageReport> Images,
    IReadOnlyList<ulong> Seeds,
    string? LatentsFile,
    StageTimings Timings)
{
    public string ToJson() => CliJson.Serialize(this);

    /// <summary>The files with their seeds, then the time of each stage.</summary>
    public void Render(IAnsiConsole console)
    {
        string sampler = ScheduleType is null ? Sampler : $"{Sampler} {ScheduleType}";
        console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{Mode} {Width}x{Height}, {Steps} steps, {sampler}, CFG {Guidance}, {Model} on {Device}")));
        foreach (var image in Images) console.MarkupLine($"[green]saved[/] {Markup.Escape(image.File)} (seed {image.Seed})");
        if (LatentsFile is not null) console.MarkupLine($"[green]saved[/] {Markup.Escape(LatentsFile)} (final latents)");

        var t = Timings;
        var table = new Table().AddColumns("Stage", "Time");
        table.Columns[1].RightAligned();
        foreach (var (stage, seconds) in new[]
                 {
                     ("model files", t.ResolveSeconds), ("load", t.LoadSeconds), ("text encoder", t.TextEncodeSeconds),
                     ("starting latents", t.PrepareLatentsSeconds),
                     ($"denoise ({t.ModelCalls} steps, {t.StepsPerSecond.ToString("F2", CultureInfo.InvariantCulture)} it/s)", t.DenoiseSeconds),
                     ("VAE decode", t.VaeDecodeSeconds), ("save", t.SaveSeconds), ("total", t.TotalSeconds),
                 })
            table.AddRow(new Spectre.Console.Text(stage), new Spectre.Console.Text(seconds.ToString("F2", CultureInfo.InvariantCulture) + " s"));
        console.Write(table);
    }
}

/// <summary>One written image: its full path, seed and position among the run's images.</summary>
public sealed record ImageReport(string File, ulong Seed, int Index);

/// <summary>
/// Wall-clock seconds per stage: resolving (and downloading) the model files, loading the weights, the pipeline's own
/// stages (text encoding, starting latents, denoising, VAE decoding; see <c>GenerationTimings</c>), writing the files,
/// and the whole command. <paramref name="ModelCalls"/> denoising steps ran at <paramref name="StepsPerSecond"/>.
/// </summary>
public sealed record StageTimings(
    double ResolveSeconds,
    double LoadSeconds,
    double TextEncodeSeconds,
    double PrepareLatentsSeconds,
    double DenoiseSeconds,
    double VaeDecodeSeconds,
    double SaveSeconds,
    double TotalSeconds,
    int ModelCalls,
    double StepsPerSecond);
