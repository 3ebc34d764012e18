using System.Diagnostics;

namespace Diffuser.Benchmarks;

/// <summary>
/// A generation's components, each timed twice a run: its wall time (the device synchronised before it and after it)
/// and its host time, until its work returned with the device still running what it was given. A GPU backend only
/// queues launches, so a host time near the wall time means the host, issuing launches, is what the component waits
/// on: fewer launches, or a CUDA graph replaying them, would pay; far below it, the device's kernels are.
/// </summary>
public sealed class ComponentTimings
{
    private readonly Dictionary<string, List<double>> _wall = [], _host = [];

    /// <summary>Each component's wall times, in seconds, in the order they ran.</summary>
    public IReadOnlyDictionary<string, List<double>> Wall => _wall;

    /// <summary>Each component's host times, in seconds, run for run with <see cref="Wall"/>.</summary>
    public IReadOnlyDictionary<string, List<double>> Host => _host;

    /// <summary>
    /// Runs <paramref name="work"/> between two calls of <paramref name="synchronize"/> and records its wall time and
    /// host time under <paramref name="component"/>.
    /// </summary>
    public T Time<T>(string component, Action synchronize, Func<T> work)
    {
        synchronize();
        long start = Stopwatch.GetTimestamp();
        var result = work();
        double host = Stopwatch.GetElapsedTime(start).TotalSeconds;
        synchronize();
        Add(_wall, component, Stopwatch.GetElapsedTime(start).TotalSeconds);
        Add(_host, component, host);
        return result;
    }

    private static void Add(Dictionary<string, List<double>> timings, string component, double seconds)
    {
        if (!timings.TryGetValue(component, out var list)) timings[component] = list = [];
        list.Add(seconds);
    }
}
