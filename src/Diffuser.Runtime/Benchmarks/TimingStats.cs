namespace Diffuser.Benchmarks;

/// <summary>Statistics of repeated timings of one thing, in milliseconds, with the FLOPs one run does.</summary>
/// <param name="Runs">How many timed runs.</param>
/// <param name="Flops">FLOPs of one run (0 when unknown or not arithmetic).</param>
/// <param name="Bytes">Minimum device traffic of one run.</param>
public sealed record TimingStats(int Runs, double MedianMs, double P90Ms, double MinMs, double MeanMs, long Flops, long Bytes)
{
    /// <summary>Achieved TFLOP/s at the median time.</summary>
    public double Tflops => MedianMs > 0 ? Flops / (MedianMs * 1e-3) / 1e12 : 0;

    /// <summary>Achieved GB/s (10⁹ bytes) at the median time.</summary>
    public double GigabytesPerSecond => MedianMs > 0 ? Bytes / (MedianMs * 1e-3) / 1e9 : 0;

    /// <summary>Median, 90th percentile (nearest rank), minimum and mean of <paramref name="seconds"/>.</summary>
    public static TimingStats From(IReadOnlyCollection<double> seconds, long flops = 0, long bytes = 0)
    {
        if (seconds.Count == 0) return new TimingStats(0, 0, 0, 0, 0, flops, bytes);
        var ms = seconds.Select(s => s * 1e3).Order().ToArray();
        double median = ms.Length % 2 == 1 ? ms[ms.Length / 2] : (ms[ms.Length / 2 - 1] + ms[ms.Length / 2]) / 2;
        double p90 = ms[Math.Clamp((int)Math.Ceiling(0.9 * ms.Length) - 1, 0, ms.Length - 1)];
        return new TimingStats(ms.Length, median, p90, ms[0], ms.Average(), flops, bytes);
    }
}
