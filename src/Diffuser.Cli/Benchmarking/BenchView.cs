using System.Globalization;
using Diffuser.Benchmarks;
using Diffuser.Diagnostics;
using Spectre.Console;

namespace Diffuser.Cli.Benchmarking;

/// <summary>Renders benchmark reports as tables: components, per-kernel breakdowns, op cases.</summary>
public static class BenchView
{
    private static readonly string[] KernelSections = [GenerationBenchmark.UNetStep, GenerationBenchmark.VaeDecode, GenerationBenchmark.TextEncoder];

    public static void Render(IAnsiConsole console, GenerationBenchmarkReport r)
    {
        console.MarkupLine($"[bold]{Esc(r.Model)}[/] on {Esc(r.Backend)} ({Esc(r.DeviceName)}; {Esc(r.DeviceCapability)}), {r.DType} (VAE {r.VaeDType}), {r.ImageSize}×{r.ImageSize} px " +
                           $"(latents {r.LatentSize}×{r.LatentSize}), UNet batch {r.Batch}{(r.Guided ? " (CFG)" : "")}, {r.Steps} steps of {Esc(r.Scheduler)}, " +
                           $"{r.Warmup} warm-up generation(s)");
        console.MarkupLine($"weights: {r.WeightBytes / 1e9:F2} GB synthesised and uploaded in {r.WeightSynthesisSeconds:F1} s");
        if (r.WarmupMs.Count > 0)
            console.MarkupLine($"warm-up: {string.Join(", ", r.WarmupMs.Select(w => $"{w / 1e3:F1} s"))} (on a GPU the first compiles every kernel it runs)");

        var table = new Table().AddColumns("Component", "Runs", "Median ms", "p90 ms", "Min ms", "Host ms", "GFLOP/run", "TFLOP/s", "GB/s");
        for (int i = 1; i < 9; i++) table.Columns[i].RightAligned();
        foreach (var (name, s) in r.Components)
            table.AddRow(Cell(name), Num(s.Runs, "0"), Num(s.MedianMs, "0.000"), Num(s.P90Ms, "0.000"), Num(s.MinMs, "0.000"),
                Num(r.HostIssue[name].MedianMs, "0.000"), Num(s.Flops / 1e9, "0.00"), Num(s.Tflops, "0.000"), Num(s.GigabytesPerSecond, "0.0"));
        console.Write(table);
        var unet = r.Components[GenerationBenchmark.UNetStep];
        console.MarkupLine($"UNet step latency: median {unet.MedianMs:F2} ms, p90 {unet.P90Ms:F2} ms over {unet.Runs} steps " +
                           $"(its host time {r.HostIssue[GenerationBenchmark.UNetStep].MedianMs:F2} ms: where launches are queued, as on a GPU, near the median means the host is the bound); " +
                           $"whole generation {r.GenerationMs:F1} ms");
        console.MarkupLine($"UNet FLOPs per pass (batch 1): {r.UNetFlopsPerPass / 1e9:F2} GFLOP at {r.LatentSize}×{r.LatentSize} latents; " +
                           $"[bold]{r.UNetFlopsAtSampleSize / 1e12:F3} TFLOP[/] at the model's {r.SampleSize}×{r.SampleSize}");

        foreach (var section in KernelSections)
            if (r.Kernels.TryGetValue(section, out var ops) && ops.Count > 0)
                RenderKernels(console, $"Kernels of one {section.Replace('_', ' ')} (profiled: device synchronised around each op)", ops);
        if (r.TopShapes.Count > 0) RenderShapes(console, r.TopShapes.Take(15).ToList());
    }

    public static void Render(IAnsiConsole console, OpCaseBenchmarkReport r)
    {
        var table = new Table().AddColumns("Op case", "Median ms", "p90 ms", "GFLOP", "MB", "TFLOP/s", "GB/s")
            .Title($"op cases '{Esc(r.Table)}' on {Esc(r.Backend)} ({Esc(r.DeviceName)})");
        for (int i = 1; i < 7; i++) table.Columns[i].RightAligned();
        foreach (var c in r.Cases)
            table.AddRow(Cell(c.Id), Num(c.Stats.MedianMs, "0.0000"), Num(c.Stats.P90Ms, "0.0000"), Num(c.Stats.Flops / 1e9, "0.000"),
                Num(c.Stats.Bytes / 1e6, "0.0"), Num(c.Stats.Tflops, "0.000"), Num(c.Stats.GigabytesPerSecond, "0.0"));
        console.Write(table);
        foreach (var f in r.Failures) console.MarkupLine($"[red]failed[/] {Esc(f.Id)}: {Esc(f.Error)}");
    }

    public static void Render(IAnsiConsole console, OpCaseCheckReport r)
    {
        var table = new Table().AddColumns("Case", "Max error", "Max reference", "Error ÷ reference", "Limit", "")
            .Title($"'{Esc(r.Table)}' on {Esc(r.Backend)} ({Esc(r.DeviceName)}) against the cpu backend");
        for (int i = 1; i < 5; i++) table.Columns[i].RightAligned();
        foreach (var c in r.Cases)
            table.AddRow(Cell(c.Id), Num(c.MaxError, "0.###e0"), Num(c.MaxReference, "0.###e0"), Num(c.RelativeError, "0.###e0"), Num(c.Limit, "0.#e0"),
                new Markup(c.Passed ? "[green]ok[/]" : "[red]beyond[/]"));
        console.Write(table);
        foreach (var f in r.Failures) console.MarkupLine($"[red]failed[/] {Esc(f.Id)}: {Esc(f.Error)}");
        int passed = r.Cases.Count(c => c.Passed);
        console.MarkupLine($"{passed} of {r.Cases.Count + r.Failures.Count} cases within their limit");
    }

    private static void RenderKernels(IAnsiConsole console, string title, IReadOnlyList<OpSummary> ops)
    {
        var total = OpProfiler.Total(ops.Select(o => new OpRecord(o.Op, "", o.Flops, o.Bytes, o.Seconds, "")));
        var table = new Table().Title(title).AddColumns("Op", "Count", "Total ms", "Share", "GFLOP", "GFLOP/s", "GB/s");
        for (int i = 1; i < 7; i++) table.Columns[i].RightAligned();
        foreach (var o in ops) table.AddRow(Cell(o.Op), Num(o.Count, "0"), Num(o.Seconds * 1e3, "0.000"), Share(o.Seconds, total.Seconds),
            Num(o.Flops / 1e9, "0.00"), Num(o.GflopsPerSecond, "0.0"), Num(o.GigabytesPerSecond, "0.0"));
        table.AddRow(Cell("total"), Num(ops.Sum(o => o.Count), "0"), Num(total.Seconds * 1e3, "0.000"), Cell("100%"),
            Num(total.Flops / 1e9, "0.00"), Num(total.Flops / Math.Max(total.Seconds, 1e-12) / 1e9, "0.0"), Num(total.Bytes / Math.Max(total.Seconds, 1e-12) / 1e9, "0.0"));
        console.Write(table);
    }

    private static void RenderShapes(IAnsiConsole console, IReadOnlyList<OpSummary> shapes)
    {
        var table = new Table().Title("Slowest op shapes of the profiled generation").AddColumns("Op", "Shapes", "Count", "Total ms", "GFLOP/s", "GB/s");
        for (int i = 2; i < 6; i++) table.Columns[i].RightAligned();
        foreach (var o in shapes) table.AddRow(Cell(o.Op), Cell(o.Shapes ?? ""), Num(o.Count, "0"), Num(o.Seconds * 1e3, "0.000"),
            Num(o.GflopsPerSecond, "0.0"), Num(o.GigabytesPerSecond, "0.0"));
        console.Write(table);
    }

    private static Spectre.Console.Text Share(double part, double whole) => Cell(whole > 0 ? (part / whole).ToString("0.0%", CultureInfo.InvariantCulture) : "-");
    private static Spectre.Console.Text Num(double value, string format) => Cell(value.ToString(format, CultureInfo.InvariantCulture));
    private static Spectre.Console.Text Cell(string text) => new(text);
    private static string Esc(string text) => Markup.Escape(text);
}
