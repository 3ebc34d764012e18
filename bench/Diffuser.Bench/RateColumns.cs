using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Diffuser.Bench;

/// <summary>Work of one benchmark invocation: FLOPs and bytes of its op case, or a model component's FLOPs.</summary>
internal static class BenchmarkWork
{
    private static readonly ConcurrentDictionary<string, (long, long)> ModelWork = new();

    public static (long Flops, long Bytes) Of(BenchmarkCase benchmark)
    {
        if (benchmark.Parameters.Items.FirstOrDefault(p => p.Name == nameof(OpCaseBenchmarks.Case))?.Value is string id)
        {
            var opCase = BenchSettings.Case(id);
            return (opCase.Flops, opCase.Bytes);
        }
        return ModelWork.GetOrAdd(benchmark.Descriptor.WorkloadMethod.Name, ModelBenchmarks.Work);
    }

    /// <summary>The key of this benchmark in a torch_bench.py JSON: the op case id, or the model method in snake case
    /// (UNetStep → unet_step, VaeDecode → vae_decode).</summary>
    public static string TorchKey(BenchmarkCase benchmark) =>
        benchmark.Parameters.Items.FirstOrDefault(p => p.Name == nameof(OpCaseBenchmarks.Case))?.Value as string
        ?? SnakeCase(benchmark.Descriptor.WorkloadMethod.Name);

    private static string SnakeCase(string name)
    {
        var key = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            // An underscore before an upper-case letter that starts a word (not inside an acronym such as "UN").
            if (i > 0 && char.IsUpper(name[i]) && !char.IsUpper(name[i - 1])) key.Append('_');
            key.Append(char.ToLowerInvariant(name[i]));
        }
        return key.ToString();
    }

    public static string? Device(BenchmarkCase benchmark) =>
        benchmark.Parameters.Items.FirstOrDefault(p => p.Name == nameof(OpCaseBenchmarks.Device))?.Value as string;

    /// <summary>Median seconds of a benchmark in the summary, or null when it has no result.</summary>
    public static double? Seconds(Summary summary, BenchmarkCase benchmark) => summary[benchmark]?.ResultStatistics?.Median * 1e-9;
}

/// <summary>Achieved GFLOP/s or GB/s at the median time: FLOP rate when the work does arithmetic, else bandwidth.</summary>
public sealed class AchievedRateColumn : IColumn
{
    public string Id => nameof(AchievedRateColumn);
    public string ColumnName => "Achieved";
    public string Legend => "GFLOP/s (FLOPs of one invocation ÷ median time) for ops that compute; GB/s (minimum bytes moved ÷ median) for data movement";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (BenchmarkWork.Seconds(summary, benchmarkCase) is not { } seconds || seconds <= 0) return "-";
        var (flops, bytes) = BenchmarkWork.Of(benchmarkCase);
        return flops > 0 ? $"{(flops / seconds / 1e9).ToString("N1", CultureInfo.InvariantCulture)} GFLOP/s"
            : bytes > 0 ? $"{(bytes / seconds / 1e9).ToString("N1", CultureInfo.InvariantCulture)} GB/s" : "-";
    }
}

/// <summary>
/// Speed relative to a reference measured for the same work: the managed cpu backend in the same run
/// (<see cref="CpuReference"/>), or PyTorch's time from a torch_bench.py JSON. The value is reference time ÷ this
/// time: above 1 means faster than the reference.
/// </summary>
public sealed class ReferenceRatioColumn(bool torch) : IColumn
{
    public static ReferenceRatioColumn CpuReference { get; } = new(torch: false);
    public static ReferenceRatioColumn TorchReference { get; } = new(torch: true);

    public string Id => torch ? "TorchRatio" : "CpuRatio";
    public string ColumnName => torch ? "torch÷this" : "cpu÷this";
    public string Legend => torch
        ? "PyTorch's median time for the same case (DIFFUSER_BENCH_TORCH, fp32, TF32 off) ÷ this median: above 1 = faster than PyTorch"
        : "Median of the managed cpu backend on the same case in this run ÷ this median: above 1 = faster than the cpu reference";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => torch ? 2 : 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => torch
        ? BenchSettings.TorchMilliseconds.Count > 0
        : summary.BenchmarksCases.Select(BenchmarkWork.Device).Distinct().Count() > 1;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (BenchmarkWork.Seconds(summary, benchmarkCase) is not { } seconds || seconds <= 0) return "-";
        double? reference = torch ? TorchSeconds(benchmarkCase) : CpuSeconds(summary, benchmarkCase);
        return reference is { } r ? (r / seconds).ToString("G3", CultureInfo.InvariantCulture) : "-";
    }

    private static double? TorchSeconds(BenchmarkCase benchmark) =>
        BenchSettings.TorchMilliseconds.TryGetValue(BenchmarkWork.TorchKey(benchmark), out double ms) ? ms * 1e-3 : null;

    /// <summary>The same benchmark (type, method, case) on the cpu device.</summary>
    private static double? CpuSeconds(Summary summary, BenchmarkCase benchmark)
    {
        var twin = summary.BenchmarksCases.FirstOrDefault(b =>
            b.Descriptor.Type == benchmark.Descriptor.Type && b.Descriptor.WorkloadMethod == benchmark.Descriptor.WorkloadMethod
            && BenchmarkWork.Device(b) == "cpu"
            && b.Parameters.Items.Where(p => p.Name != nameof(OpCaseBenchmarks.Device)).SequenceEqual(
                benchmark.Parameters.Items.Where(p => p.Name != nameof(OpCaseBenchmarks.Device)), ParameterEquality.Instance));
        return twin is null ? null : BenchmarkWork.Seconds(summary, twin);
    }

    private sealed class ParameterEquality : IEqualityComparer<BenchmarkDotNet.Parameters.ParameterInstance>
    {
        public static ParameterEquality Instance { get; } = new();
        public bool Equals(BenchmarkDotNet.Parameters.ParameterInstance? a, BenchmarkDotNet.Parameters.ParameterInstance? b) =>
            a?.Name == b?.Name && Equals(a?.Value, b?.Value);
        public int GetHashCode(BenchmarkDotNet.Parameters.ParameterInstance p) => p.Name.GetHashCode();
    }
}
