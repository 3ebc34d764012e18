using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>
/// An op case's results on a device against the managed cpu backend's from the same inputs: the largest difference,
/// the reference's largest magnitude, and the limit of their ratio. The error is measured against the whole result's
/// scale, so that it reads the same at every shape: results that a long reduction leaves near zero differ by its
/// rounding, which a per-element tolerance (the tests' small shapes) would call wrong at SD's.
/// </summary>
public sealed record OpCaseCheck(string Id, double MaxError, double MaxReference, double Limit)
{
    /// <summary>Largest difference ÷ the reference's largest magnitude (infinite where a result is NaN).</summary>
    public double RelativeError => MaxError / (MaxReference > 0 ? MaxReference : 1);

    public bool Passed => RelativeError <= Limit;
}

/// <summary>What <c>diffuser bench --verify --json</c> writes: every case checked (op cases, or a UNet step), and those that threw instead.</summary>
public sealed record OpCaseCheckReport(string Backend, string DeviceName, string Table, IReadOnlyList<OpCaseCheck> Cases,
    IReadOnlyList<OpCaseFailure> Failures)
{
    /// <summary>Whether every case ran and stayed within its limit.</summary>
    public bool AllPassed => Failures.Count == 0 && Cases.All(c => c.Passed);

    public string ToJson() => JsonSerializer.Serialize(this, OpCaseBenchmark.Json);
}

/// <summary>
/// Runs op cases once on a device and on the managed cpu backend and compares them: what checks the kernels at the
/// shapes the benchmarks time (SD's, on a GPU's many multiprocessors: other splits, stream-K deals, planes and key
/// counts than the tests' small shapes on ILGPU's CPU accelerator), so that a fast kernel that computes the wrong
/// thing there is seen.
/// </summary>
public static class OpCaseChecks
{
    /// <summary>
    /// A wrong kernel is off by a whole term or tile: far above these. fp16 results are rounded once by both sides
    /// (2⁻¹¹ of a value) and attention on the tensor cores multiplies fp16 probabilities; fp32 ones differ by their
    /// summation order alone.
    /// </summary>
    public const double HalfLimit = 1e-2, SingleLimit = 1e-4;

    public static double LimitOf(OpCase c) => c.Inputs.Any(i => i.DType == DType.F16) ? HalfLimit : SingleLimit;

    /// <summary>Checks <paramref name="cases"/> in order (as <see cref="Check"/>), handing the report so far to <paramref name="progress"/> after each.</summary>
    public static OpCaseCheckReport CheckAll(Backend device, string table, IReadOnlyList<OpCase> cases,
        Action<OpCase, OpCaseCheckReport>? progress = null, CancellationToken cancellation = default)
    {
        using var reference = new CpuBackend();
        var checks = new List<OpCaseCheck>();
        var failures = new List<OpCaseFailure>();
        var report = new OpCaseCheckReport(device.Name, device.Device.Name, table, checks, failures);
        OpCaseBenchmark.EachCase(cases, opCase => Check(device, reference, opCase), checks, failures, opCase => progress?.Invoke(opCase, report), cancellation);
        return report;
    }

    /// <summary><paramref name="opCase"/> once on each backend, from the same seeded inputs.</summary>
    public static OpCaseCheck Check(Backend device, Backend reference, OpCase opCase, int seed = 1234)
    {
        float[] actual = opCase.RunOnce(device, seed).Values, expected = opCase.RunOnce(reference, seed).Values;
        if (actual.Length != expected.Length)
            throw new DiffuserException($"{opCase.Id}: {actual.Length} results on {device.Name}, {expected.Length} on {reference.Name}.");
        return Compare(opCase.Id, actual, expected, LimitOf(opCase));
    }

    /// <summary><paramref name="actual"/> against <paramref name="expected"/> (of the same length), as <see cref="OpCaseCheck"/> measures it.</summary>
    public static OpCaseCheck Compare(string id, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double limit)
    {
        double maxError = 0, maxReference = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]);
            maxError = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(maxError, error);
            maxReference = Math.Max(maxReference, Math.Abs((double)expected[i]));
        }
        return new OpCaseCheck(id, maxError, maxReference, limit);
    }
}
