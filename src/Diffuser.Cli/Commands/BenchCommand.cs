using System.CommandLine;
using Diffuser.Backends;
using Diffuser.Benchmarks;
using Diffuser.Cli.Benchmarking;
using Diffuser.Tensors;
using Spectre.Console;

namespace Diffuser.Cli.Commands;

/// <summary>
/// <c>diffuser bench --model FOLDER</c>: a text-to-image generation on random weights of the model's exact shapes, with
/// per-component latencies and a per-kernel breakdown. <c>--ops</c> times the op case table instead (with
/// <c>--verify</c>, checks it against the managed cpu backend; without <c>--ops</c>, <c>--verify</c> checks one UNet
/// step), and <c>--export-cases FILE</c> writes that table's shapes for other tools (the PyTorch comparison).
/// </summary>
public sealed class BenchCommand : DiffuserCommand
{
    private readonly Option<string?> _model = new("--model") { Description = "A diffusers pipeline folder: configs with weights-manifest.json files (e.g. shared/models/sd15) or real weights (never read)." };
    private readonly Option<string> _device = new("--device") { Description = $"Device: {string.Join(", ", BackendFactory.DeviceNames)}.", DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _dtype = new("--dtype") { Description = "Storage of weights and activations: fp32, or fp16 (fp32 accumulation; latents and sampler steps stay fp32).", DefaultValueFactory = _ => "fp32" };
    private readonly Option<string?> _vaeDtype = new("--vae-dtype") { Description = "The VAE's storage, fp32 or fp16 (default: --dtype, as diffusers' SD 1.x/2.x pipelines; fp32 is slower and a little more precise)." };
    private readonly Option<int> _batch = new("--batch") { Description = "UNet batch; an even batch is classifier-free guidance (batch/2 images).", DefaultValueFactory = _ => 2 };
    private readonly Option<int?> _size = new("--size") { Description = "Image side in pixels (latents = size / VAE factor); default: the model's own." };
    private readonly Option<int> _steps = new("--steps") { Description = "Denoising steps of the timed generation.", DefaultValueFactory = _ => 10 };
    private readonly Option<int> _warmup = new("--warmup") { Description = "Untimed generations (of at most 2 steps) first; for --ops, warm-up runs per case.", DefaultValueFactory = _ => 1 };
    private readonly Option<string?> _json = new("--json") { Description = "Also write the full report as JSON to this file." };
    private readonly Option<bool> _ops = new("--ops") { Description = "Time each op case (kernels at fixed shapes) instead of a generation." };
    private readonly Option<bool> _verify = new("--verify")
    {
        Description = "Instead of timing: run each op case (with --ops) or one UNet step of the model (--model, --dtype, --batch, --size) once on the device " +
                      "and on the managed cpu backend from the same inputs (and weights), and fail where the largest error exceeds " +
                      $"{OpCaseChecks.HalfLimit:0.##e0} (fp16) or {OpCaseChecks.SingleLimit:0.##e0} (fp32) of the reference's largest value.",
    };
    private readonly Option<string> _cases = new("--cases") { Description = $"Op case table(s) for --ops and --export-cases, comma-separated: {string.Join(", ", OpCaseBenchmark.Tables)}.", DefaultValueFactory = _ => "sd15" };
    private readonly Option<string?> _filter = new("--filter") { Description = "Only op cases whose id (family/name) contains this text." };
    private readonly Option<double> _seconds = new("--seconds") { Description = "Sampling time per op case for --ops.", DefaultValueFactory = _ => 0.5 };
    private readonly Option<string?> _exportCases = new("--export-cases") { Description = "Write the op cases (shapes, parameters, FLOPs, bytes) as JSON to this file and exit." };

    public BenchCommand(CliContext context)
        : base(context, "bench", "Benchmark a model's generation on synthetic weights, or the kernels at fixed shapes (--ops).")
    {
        foreach (var option in new Option[] { _model, _device, _dtype, _vaeDtype, _batch, _size, _steps, _warmup, _json, _ops, _verify, _cases, _filter, _seconds, _exportCases })
            Options.Add(option);
    }

    protected override int Execute(ParseResult result, CancellationToken cancellation)
    {
        if (result.GetValue(_exportCases) is { } export)
        {
            var cases = OpCaseBenchmark.Select(result.GetValue(_cases)!, result.GetValue(_filter));
            File.WriteAllText(export, OpCaseBenchmark.ExportCases(cases));
            Context.Console.MarkupLine($"wrote {cases.Count} op cases to {Markup.Escape(export)}");
            return 0;
        }
        if (result.GetValue(_ops)) return result.GetValue(_verify) ? VerifyOps(result, cancellation) : RunOps(result, cancellation);
        return result.GetValue(_verify) ? VerifyUNetStep(result) : RunGeneration(result);
    }

    private int RunGeneration(ParseResult result)
    {
        var options = new GenerationBenchmarkOptions
        {
            ModelFolder = result.GetValue(_model) ?? throw new DiffuserException("bench needs --model FOLDER (or --ops to time the kernels)."),
            Device = result.GetValue(_device)!,
            DType = DTypeExtensions.Parse(result.GetValue(_dtype)!),
            VaeDType = result.GetValue(_vaeDtype) is { } vae ? DTypeExtensions.Parse(vae) : null,
            Batch = result.GetValue(_batch),
            ImageSize = result.GetValue(_size),
            Steps = result.GetValue(_steps),
            Warmup = result.GetValue(_warmup),
        };
        var report = GenerationBenchmark.Run(options, message => Context.ErrorConsole.MarkupLine($"[grey]{Markup.Escape(message)}…[/]"));
        BenchView.Render(Context.Console, report);
        WriteJson(result, report.ToJson());
        return 0;
    }

    private int RunOps(ParseResult result, CancellationToken cancellation)
    {
        var cases = OpCaseBenchmark.Select(result.GetValue(_cases)!, result.GetValue(_filter));
        using var backend = BackendFactory.Create(result.GetValue(_device)!);
        // The JSON is rewritten after every case: a run stopped part way (a time limit) keeps the cases it timed.
        var report = OpCaseBenchmark.TimeAll(backend, result.GetValue(_cases)!, cases, result.GetValue(_warmup), result.GetValue(_seconds),
            (done, sofar) =>
            {
                var failure = sofar.Failures.LastOrDefault(f => f.Id == done.Id);
                Context.ErrorConsole.MarkupLine(failure is null ? $"[grey]{Markup.Escape(done.Id)}[/]" : $"[red]{Markup.Escape(done.Id)}: {Markup.Escape(failure.Error)}[/]");
                WriteJson(result, sofar.ToJson(), quiet: true);
            }, cancellation);
        BenchView.Render(Context.Console, report);
        WriteJson(result, report.ToJson());
        return report.Failures.Count == 0 ? 0 : 1;
    }

    private int VerifyUNetStep(ParseResult result)
    {
        string model = result.GetValue(_model) ?? throw new DiffuserException("bench --verify needs --model FOLDER (or --ops to check the op cases).");
        using var backend = BackendFactory.Create(result.GetValue(_device)!);
        var report = UNetStepCheck.Run(model, backend, DTypeExtensions.Parse(result.GetValue(_dtype)!), result.GetValue(_batch), result.GetValue(_size),
            message => Context.ErrorConsole.MarkupLine($"[grey]{Markup.Escape(message)}…[/]"));
        BenchView.Render(Context.Console, report);
        WriteJson(result, report.ToJson());
        return report.AllPassed ? 0 : 1;
    }

    private int VerifyOps(ParseResult result, CancellationToken cancellation)
    {
        var cases = OpCaseBenchmark.Select(result.GetValue(_cases)!, result.GetValue(_filter));
        using var backend = BackendFactory.Create(result.GetValue(_device)!);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var report = OpCaseChecks.CheckAll(backend, result.GetValue(_cases)!, cases, (done, sofar) =>
        {
            string id = $"{Markup.Escape(done.Id)} ({clock.Elapsed.TotalSeconds:F1} s)";
            Context.ErrorConsole.MarkupLine(sofar.Failures.LastOrDefault(f => f.Id == done.Id) is { } failure
                ? $"[red]{id}: {Markup.Escape(failure.Error)}[/]"
                : sofar.Cases[^1].Passed ? $"[grey]{id}[/]" : $"[red]{id}: beyond its limit[/]");
            WriteJson(result, sofar.ToJson(), quiet: true);
            clock.Restart();
        }, cancellation);
        BenchView.Render(Context.Console, report);
        WriteJson(result, report.ToJson());
        return report.AllPassed ? 0 : 1;
    }

    private void WriteJson(ParseResult result, string json, bool quiet = false)
    {
        if (result.GetValue(_json) is not { } path) return;
        try
        {
            File.WriteAllText(path, json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"Cannot write the JSON report to {path}: {e.Message}", e);
        }
        if (!quiet) Context.Console.MarkupLine($"JSON report: {Markup.Escape(path)}");
    }
}
