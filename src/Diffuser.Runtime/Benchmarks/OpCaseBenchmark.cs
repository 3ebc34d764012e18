using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>One op case timed on one backend.</summary>
public sealed record OpCaseTiming(string Id, string Family, string Name, TimingStats Stats);

/// <summary>An op case that threw instead of running (its message; the cases after it still run).</summary>
public sealed record OpCaseFailure(string Id, string Error);

/// <summary>The result of timing op cases on one device; <see cref="ToJson"/> is what <c>diffuser bench --ops --json</c> writes.</summary>
public sealed record OpCaseBenchmarkReport(string Backend, string DeviceName, string Table, IReadOnlyList<OpCaseTiming> Cases,
    IReadOnlyList<OpCaseFailure> Failures)
{
    public string ToJson() => JsonSerializer.Serialize(this, OpCaseBenchmark.Json);
}

/// <summary>
/// Times <see cref="OpCases"/> on a backend: each case's inputs made once, a few warm-up runs, then samples of
/// back-to-back runs (enough that one sample lasts about a millisecond, so launch latency is amortised as a stream
/// of kernels amortises it) between device synchronisations; the reported time per run is the median sample / runs.
/// </summary>
public static class OpCaseBenchmark
{
    /// <summary>Table names for <see cref="Select"/>.</summary>
    public static IReadOnlyList<string> Tables { get; } = ["sd15", "sd15-f16", "sd15-all", "small", "small-f16", "small-all", "all"];

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// The cases of <paramref name="tables"/> (sd15: SD 1.5 at 512², small: the test shapes; -f16 their fp16 twins, -all
    /// both; all: every table; several, comma-separated, in that order) whose id contains <paramref name="filter"/>
    /// (case-insensitive; null for all).
    /// </summary>
    public static IReadOnlyList<OpCase> Select(string tables, string? filter)
    {
        var cases = tables.Split(',', StringSplitOptions.TrimEntries).SelectMany(Table).Distinct();
        var selected = cases.Where(c => filter is null || c.Id.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
        return selected.Count > 0 ? selected : throw new DiffuserException($"No op case of table '{tables}' matches '{filter}'.");
    }

    private static IEnumerable<OpCase> Table(string table) =>
        table.ToLowerInvariant() switch
        {
            "sd15" => OpCases.StableDiffusion,
            "sd15-f16" => OpCases.StableDiffusionHalf,
            "sd15-all" => OpCases.StableDiffusion.Concat(OpCases.StableDiffusionHalf),
            "small" => OpCases.Small,
            "small-f16" => OpCases.SmallHalf,
            "small-all" => OpCases.Small.Concat(OpCases.SmallHalf),
            "all" => OpCases.All,
            _ => throw new DiffuserException($"Unknown op case table '{table}'. Valid: {string.Join(", ", Tables)}."),
        };

    /// <summary>
    /// Times <paramref name="cases"/> in order (as <see cref="Time"/>), handing the report so far to
    /// <paramref name="progress"/> after each, so that an interrupted run still leaves what it measured. A case that
    /// throws (an op the device cannot run, a kernel that faults) is recorded as a failure and the next one runs.
    /// </summary>
    public static OpCaseBenchmarkReport TimeAll(Backend backend, string table, IReadOnlyList<OpCase> cases, int warmup, double seconds,
        Action<OpCase, OpCaseBenchmarkReport>? progress = null, CancellationToken cancellation = default)
    {
        var timings = new List<OpCaseTiming>();
        var failures = new List<OpCaseFailure>();
        var report = new OpCaseBenchmarkReport(backend.Name, backend.Device.Name, table, timings, failures);
        EachCase(cases, opCase => Time(backend, opCase, warmup, seconds), timings, failures, opCase => progress?.Invoke(opCase, report), cancellation);
        return report;
    }

    /// <summary>
    /// <paramref name="run"/> of each case in order into <paramref name="results"/>; a case that throws (an op the
    /// device cannot run, a kernel that faults) goes to <paramref name="failures"/> instead, and the next one runs.
    /// </summary>
    internal static void EachCase<T>(IReadOnlyList<OpCase> cases, Func<OpCase, T> run, List<T> results, List<OpCaseFailure> failures,
        Action<OpCase> done, CancellationToken cancellation)
    {
        foreach (var opCase in cases)
        {
            cancellation.ThrowIfCancellationRequested();
            try
            {
                results.Add(run(opCase));
            }
            catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
            {
                failures.Add(new OpCaseFailure(opCase.Id, e.Message));
            }
            done(opCase);
        }
    }

    /// <summary>Times one case: <paramref name="warmup"/> runs, then samples until <paramref name="seconds"/> have passed
    /// (at least 3 samples, at most 50).</summary>
    public static OpCaseTiming Time(Backend backend, OpCase opCase, int warmup = 2, double seconds = 0.5)
    {
        var inputs = opCase.CreateInputs(backend);
        try
        {
            double once = double.MaxValue;
            for (int i = 0; i < Math.Max(warmup, 1); i++) once = Math.Min(once, Sample(backend, opCase, inputs, 1));
            int runsPerSample = (int)Math.Clamp(1e-3 / Math.Max(once, 1e-7), 1, 1000);
            var samples = new List<double>();
            var clock = Stopwatch.StartNew();
            while (samples.Count < 3 || (clock.Elapsed.TotalSeconds < seconds && samples.Count < 50))
                samples.Add(Sample(backend, opCase, inputs, runsPerSample) / runsPerSample);
            return new OpCaseTiming(opCase.Id, opCase.Family, opCase.Name, TimingStats.From(samples, opCase.Flops, opCase.Bytes));
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
    }

    private static double Sample(Backend backend, OpCase opCase, Tensor[] inputs, int runs)
    {
        backend.Synchronize();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < runs; i++) opCase.Run(backend, inputs).Dispose();
        backend.Synchronize();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>
    /// The cases as JSON for other tools (bench/gpu/torch_bench.py): id, family, name, inputs (shape, dtype, mean, std),
    /// the op's parameters, FLOPs and bytes, so that they run literally the same shapes.
    /// </summary>
    public static string ExportCases(IEnumerable<OpCase> cases) => JsonSerializer.Serialize(cases.Select(c => new
    {
        c.Id,
        c.Family,
        c.Name,
        Inputs = c.Inputs.Select(i => new { Shape = i.Shape.Dims.ToArray(), DType = i.DType.ToString().ToLowerInvariant(), i.Mean, i.Std }),
        Args = c.Args ?? new Dictionary<string, object>(),
        c.Flops,
        c.Bytes,
    }), Json);
}
