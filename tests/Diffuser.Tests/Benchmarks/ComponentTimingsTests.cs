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
        // Lower bounds only, so that a loaded machine cannot fail it: the work's 20 ms count in the host time, the
        // device's 60 ms in the wall time alone (a host time that ran to the end would leave no difference).
        Assert.True(timings.Host["step"][0] >= 0.019, "the work's own time is host time");
        for (int run = 0; run < 2; run++)
            Assert.True(timings.Wall["step"][run] - timings.Host["step"][run] >= 0.059, "the device's time is wall time alone");
    }
}
