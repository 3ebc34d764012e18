using Diffuser.Kernels.Launch;

namespace Diffuser.Tests.Kernels;

/// <summary>The multiply-and-shift divisions the tensor-core convolution uses for patch positions, against integer division.</summary>
public class SmallDivisionTests
{
    [Fact]
    public void EqualsIntegerDivisionOverTheWholeRange()
    {
        var random = new Random(11);
        int[] divisors = [.. Enumerable.Range(1, 1200), 3 * 3 * 1280, 7 * 7 * 1280, SmallDivision.DivisorLimit - 1, .. Enumerable.Range(0, 200).Select(_ => random.Next(1, SmallDivision.DivisorLimit))];
        foreach (int d in divisors)
        {
            // Around every multiple of d near the ends of the range, and random dividends between.
            foreach (int n in Enumerable.Range(0, 64).Concat(Enumerable.Range(SmallDivision.DividendLimit - 64, 64))
                         .Concat(Enumerable.Range(0, 64).SelectMany(_ => { int m = random.Next(SmallDivision.DividendLimit / d) * d; return new[] { m - 1, m, m + 1 }; }))
                         .Where(n => n is >= 0 and < SmallDivision.DividendLimit))
                Assert.True(SmallDivision.Quotient(n, d) == n / d, $"{n} / {d}: {SmallDivision.Quotient(n, d)}");
        }
    }

    [Fact]
    public void ShortQuotientEqualsIntegerDivisionEverywhere()
    {
        for (int d = 1; d < 256; d++)
            for (int n = 0; n < 256; n++)
                Assert.True(SmallDivision.ShortQuotient(n, d) == n / d, $"{n} / {d}: {SmallDivision.ShortQuotient(n, d)}");
    }
}
