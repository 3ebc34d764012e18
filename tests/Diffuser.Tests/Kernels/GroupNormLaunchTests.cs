using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Tests.Infrastructure;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Group norm's two ways on ILGPU's CPU accelerator (two multiprocessors, so the one-pass kernels take groups of up to
/// two slices), each against the managed norm: the one launch that reads x once (one slice or several a group, more
/// tickets than blocks) and the two launches it falls back to (partial sums, then the normalisation), for the dense
/// output and for the channel-blocked one. One accelerator and its two launchers serve every case (a kernel is
/// compiled once per specialisation, and its 512 threads started once, not per case).
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class GroupNormLaunchTests(GroupNormLaunchTests.Device device) : IClassFixture<GroupNormLaunchTests.Device>
{
    private readonly Accelerator _accelerator = device.Accelerator;

    [Theory]
    [InlineData(2, 8, 3, 5, 4, true)]       // a slice a group (steps of one element), 8 groups for 2 blocks
    [InlineData(2, 4, 45, 45, 2, true)]     // 2 slices a group (4050 elements, slices of 2048), 8 tickets for 2 blocks
    [InlineData(1, 4, 100, 100, 2, true)]   // steps of eight: 2 slices a group (20000 elements, slices of 16384), the second partial
    [InlineData(1, 4, 99, 101, 2, false)]   // 10 slices a group: more than the blocks that run at once
    public void OnePassWhereTheSlicesFitElseTwoLaunches(int n, int c, int height, int width, int groups, bool onePass) =>
        AssertBothWays(new GroupNormShape(n, c, height * width, groups, 1e-5f, FuseSilu: 1), onePass, blocked: false);

    [Theory]
    [InlineData(2, 40, 8, 8, 4, true)]      // groups of 10 channels: units of 4 groups (5 blocks of 8), 40 items for 64 threads
    [InlineData(2, 40, 32, 24, 4, true)]    // 480 items a unit: 2 slices
    [InlineData(2, 16, 64, 40, 4, true)]    // groups of 4: units of 2 groups (1 block), 2 slices of 256 items, 8 tickets for 2 blocks
    [InlineData(1, 24, 8, 8, 4, true)]      // groups of 6: units of 4 groups (3 blocks)
    [InlineData(2, 32, 8, 8, 2, true)]      // groups of 16: units of one group (2 blocks)
    [InlineData(1, 16, 8, 8, 8, false)]     // groups of 2: a block of 8 channels spans 4 groups (too many slices: see BlockedGroupNormTests)
    public void ChannelBlockedOnePassWhereTheSlicesFitElseTwoLaunches(int n, int c, int height, int width, int groups, bool onePass) =>
        AssertBothWays(new GroupNormShape(n, c, height * width, groups, 1e-5f, FuseSilu: 1), onePass, blocked: true);

    /// <summary>
    /// The norm as launched (twice: the one-pass kernels' counters reset) and in two launches against the managed norm
    /// (put in blocks for the <paramref name="blocked"/> output); whether it takes one pass is <paramref name="onePass"/>.
    /// </summary>
    private void AssertBothWays(GroupNormShape s, bool onePass, bool blocked)
    {
        var (x, gamma, beta) = Inputs(s);
        var expected = new float[x.Length];
        NormManaged.GroupNorm(x, gamma, beta, expected, s);
        if (blocked)
        {
            var dense = expected;
            expected = new float[x.Length];
            ChannelBlocks.FromDense(dense, expected, s.N, s.C, s.Spatial);
        }

        var (launcher, twoLaunches) = (device.Launcher, device.TwoLaunches);
        Assert.Equal(onePass, blocked ? launcher.TakesOnePassBlocked(s) : launcher.TakesOnePass(s, alignedChunks: true));
        Assert.False(blocked ? twoLaunches.TakesOnePassBlocked(s) : twoLaunches.TakesOnePass(s, alignedChunks: true));
        Tolerance.AssertClose(Run(launcher, s, x, gamma, beta, blocked), expected, 1e-5, 1e-5, "as launched");
        Tolerance.AssertClose(Run(launcher, s, x, gamma, beta, blocked), expected, 1e-5, 1e-5, "launched again (the counters reset)");
        Tolerance.AssertClose(Run(twoLaunches, s, x, gamma, beta, blocked), expected, 1e-5, 1e-5, "two launches");
    }

    /// <summary>x around 2.5 (the shift by a group's first element matters), gamma around 1, beta around 0.</summary>
    private static (float[] X, float[] Gamma, float[] Beta) Inputs(GroupNormShape s)
    {
        var random = new Random(7);
        float[] x = [.. Enumerable.Range(0, s.N * s.C * s.Spatial).Select(_ => 2f + (float)random.NextDouble())];
        float[] gamma = [.. Enumerable.Range(0, s.C).Select(_ => 0.5f + (float)random.NextDouble())];
        float[] beta = [.. Enumerable.Range(0, s.C).Select(_ => (float)random.NextDouble() - 0.5f)];
        return (x, gamma, beta);
    }

    private float[] Run(NormLauncher<F32View> launcher, GroupNormShape s, float[] x, float[] gamma, float[] beta, bool blocked)
    {
        using var xs = _accelerator.Allocate1D(x);
        using var gammas = _accelerator.Allocate1D(gamma);
        using var betas = _accelerator.Allocate1D(beta);
        using var y = _accelerator.Allocate1D<float>(x.Length);
        using var scratch = _accelerator.Allocate1D<float>(blocked ? launcher.BlockedScratchLength(s) : launcher.ScratchLength(s, alignedChunks: true));
        if (blocked) launcher.GroupNormBlocked(new(xs.View), new(gammas.View), new(betas.View), scratch.View, new(y.View), s, alignedChunks: true);
        else launcher.GroupNorm(new(xs.View), new(gammas.View), new(betas.View), scratch.View, new(y.View), s, alignedChunks: true);
        _accelerator.Synchronize();
        return y.GetAsArray1D();
    }

    /// <summary>A CPU accelerator of two multiprocessors, a launcher that takes one pass where it can and one that never does.</summary>
    public sealed class Device() : CpuAcceleratorFixture(multiprocessors: 2)
    {
        public NormLauncher<F32View> Launcher => field ??= new(Accelerator);

        public NormLauncher<F32View> TwoLaunches => field ??= new(Accelerator, onePass: false);
    }
}
