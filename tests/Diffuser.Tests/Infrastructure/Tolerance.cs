using System.Text;
using Xunit.Sdk;

namespace Diffuser.Tests.Infrastructure;

/// <summary>
/// The one tolerance check: |actual − expected| ≤ atol + rtol·|expected| element-wise. On failure the message gives
/// the worst element (index, both values, error), the number of failures and the first few mismatches.
/// </summary>
public static class Tolerance
{
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what)
    {
        if (actual.Length != expected.Length)
            throw new XunitException($"{what}: {actual.Length} values, expected {expected.Length}.");
        int failures = 0, worst = -1;
        double worstExcess = double.NegativeInfinity, maxAbs = 0;
        var first = new StringBuilder();
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            double err = Math.Abs(a - e);
            bool bad = double.IsNaN(a) != double.IsNaN(e) || !(err <= atol + rtol * Math.Abs(e)) && !(a == e);
            if (!double.IsNaN(err)) maxAbs = Math.Max(maxAbs, err);
            if (!bad) continue;
            double excess = double.IsNaN(err) ? double.PositiveInfinity : err - (atol + rtol * Math.Abs(e));
            if (excess > worstExcess) { worstExcess = excess; worst = i; }
            if (failures++ < 5) first.Append($"\n  [{i}] actual {a:R}, expected {e:R}, |diff| {err:G3}");
        }
        if (failures > 0)
            throw new XunitException(
                $"{what}: {failures} of {actual.Length} values outside atol {atol:G2} + rtol {rtol:G2}. " +
                $"Worst at [{worst}]: actual {actual[worst]:R}, expected {expected[worst]:R}, |diff| {Math.Abs(actual[worst] - expected[worst]):G3}. " +
                $"Max |diff| {maxAbs:G3}. First mismatches:{first}");
    }

    /// <summary>Largest absolute difference (for reports).</summary>
    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
