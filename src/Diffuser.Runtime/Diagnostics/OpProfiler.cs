namespace Diffuser.Diagnostics;

/// <summary>One op call as the profiler saw it.</summary>
/// <param name="Op">The op family as the backend names it: gemm, conv2d, group_norm, attention, upload...</param>
/// <param name="Shapes">Input shapes → output shape, e.g. <c>[2, 320, 64, 64] × [320, 320, 3, 3] → [2, 320, 64, 64]</c>.</param>
/// <param name="Flops">Floating-point operations (multiply and add count as two).</param>
/// <param name="Bytes">Minimum device traffic: every input read once, every output written once.</param>
/// <param name="Seconds">Wall time of the op, the device synchronised before and after it.</param>
/// <param name="Section">What the caller was doing (<see cref="OpProfiler.Section"/>), e.g. unet, vae_decode.</param>
public readonly record struct OpRecord(string Op, string Shapes, long Flops, long Bytes, double Seconds, string Section);

/// <summary>Totals over a group of <see cref="OpRecord"/>s (one op family, or one op at one set of shapes).</summary>
public sealed record OpSummary(string Op, string? Shapes, int Count, double Seconds, long Flops, long Bytes)
{
    /// <summary>Achieved FLOP rate in GFLOP/s (0 for ops that do no arithmetic).</summary>
    public double GflopsPerSecond => Seconds > 0 ? Flops / Seconds / 1e9 : 0;

    /// <summary>Achieved traffic in GB/s (10⁹ bytes).</summary>
    public double GigabytesPerSecond => Seconds > 0 ? Bytes / Seconds / 1e9 : 0;

    /// <summary>FLOPs per byte moved: above a device's ratio of FLOP rate to bandwidth an op is compute-bound.</summary>
    public double Intensity => Bytes > 0 ? (double)Flops / Bytes : 0;
}

/// <summary>
/// Records every op a <see cref="Backends.Backend"/> runs while it is attached (<c>backend.Profiler = new OpProfiler()</c>):
/// family, shapes, FLOPs, bytes and time. GPU backends synchronise around each op while a profiler is attached, so
/// times include the launch; detach it (null) for true end-to-end latency. Not thread-safe: one backend, one thread.
/// </summary>
public sealed class OpProfiler
{
    private readonly List<OpRecord> _records = new();

    /// <summary>Label stored with each record from now on (e.g. "unet"); null records an empty section.</summary>
    public string? Section { get; set; }

    public IReadOnlyList<OpRecord> Records => _records;

    public void Record(string op, string shapes, long flops, long bytes, double seconds) =>
        _records.Add(new OpRecord(op, shapes, flops, bytes, seconds, Section ?? ""));

    public void Clear() => _records.Clear();

    /// <summary>Per op family, most time first.</summary>
    public static IReadOnlyList<OpSummary> ByOp(IEnumerable<OpRecord> records) => Summarise(records, byShape: false);

    /// <summary>Per op and shape, most time first.</summary>
    public static IReadOnlyList<OpSummary> ByShape(IEnumerable<OpRecord> records) => Summarise(records, byShape: true);

    /// <summary>All records as one summary (op "total").</summary>
    public static OpSummary Total(IEnumerable<OpRecord> records)
    {
        var list = records as IReadOnlyCollection<OpRecord> ?? records.ToList();
        return new OpSummary("total", null, list.Count, list.Sum(r => r.Seconds), list.Sum(r => r.Flops), list.Sum(r => r.Bytes));
    }

    private static List<OpSummary> Summarise(IEnumerable<OpRecord> records, bool byShape) =>
        records.GroupBy(r => (r.Op, Shapes: byShape ? r.Shapes : null))
            .Select(g => new OpSummary(g.Key.Op, g.Key.Shapes, g.Count(), g.Sum(r => r.Seconds), g.Sum(r => r.Flops), g.Sum(r => r.Bytes)))
            .OrderByDescending(s => s.Seconds).ThenBy(s => s.Op, StringComparer.Ordinal).ToList();
}
