using Diffuser.Kernels.Launch;

namespace Diffuser.Tests.Kernels;

/// <summary>The grid-stride walk that keeps i / d and i % d without dividing, against division.</summary>
public class StrideWalkTests
{
    [Fact]
    public void KeepsQuotientAndRemainderOfEveryIndex()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 2000; trial++)
        {
            int divisor = random.Next(1, 5000), stride = random.Next(1, 300_000), start = random.Next(0, stride);
            var walk = new StrideWalk(start, stride, divisor);
            for (int step = 0; step < 50; step++, walk.Next())
            {
                Assert.Equal(start + step * stride, walk.Index);
                Assert.Equal(walk.Index / divisor, walk.Quotient);
                Assert.Equal(walk.Index % divisor, walk.Remainder);
            }
        }
    }
}
