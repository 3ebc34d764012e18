using Diffuser.Benchmarks;

namespace Diffuser.Tests.Benchmarks;

/// <summary><see cref="ComponentTimings"/>: a component's host time ends when its work returns, its wall time after the device is done.</summary>
public class ComponentTimingsTests
{
    [Fact]
    public void TheHostTimeEndsWhereTheWorkReturnedAndTheWallTimeAfterTheDevice()
    {
        var timings = new ComponentTimings();
        int synchronized = 0;
        void Device() { synchronized++; Thread.Sleep(synchronized % 2 == 0 ? 60 : 0); }   // what the work left queued takes 60 ms

        Assert.Equal(7, timings.Time("step", Device, () => { Thread.Sleep(20); return 7; }));
        timings.Time("step", Device, () => 0);
        timings.Time("decode", Device, () => 0);

        Assert.Equal(6, synchronized);   // before and after each
        Assert.Equal(["step", "decode"], timings.Wall.Keys);
        Assert.Equal(2, timings.Host["step"].Count);
        var (host, wall) = (timings.Host["step"][0], timings.Wall["step"][0]);
        Assert.InRange(host, 0.019, 0.055);
        Assert.InRange(wall - host, 0.055, 1.0);   // the device's 60 ms count in the wall time alone
        Assert.True(timings.Host["step"][1] < 0.055, "work that returns at once takes no host time");
    }
}
