using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Group norm's two ways on ILGPU's CPU accelerator (four multiprocessors, so the one-pass kernel takes groups of up to
/// four slices), each against the managed norm: the one launch that reads x once (one slice or several a group, more
/// tickets than blocks) and the two launches it falls back to (partial sums, then the normalisation).
/// </summary>
public sealed class GroupNormLaunchTests : IDisposable
{
    private readonly Context _context = Context.Create(builder => builder.CPU(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 4)));
    private readonly Accelerator _accelerator;

    public GroupNormLaunchTests() => _accelerator = _context.CreateCPUAccelerator(0);

    [Theory]
    [InlineData(2, 8, 3, 5, 4, true)]       // a slice a group (steps of one element), 8 groups for 4 blocks
    [InlineData(2, 4, 45, 45, 2, true)]     // 2 slices a group (4050 elements, slices of 2048), 8 tickets for 4 blocks
    [InlineData(1, 4, 100, 100, 2, true)]   // steps of eight: 2 slices a group (20000 elements, slices of 16384), the second partial
    [InlineData(1, 4, 99, 101, 2, false)]   // 10 slices a group: more than the blocks that run at once
    public void OnePassWhereTheSlicesFitElseTwoLaunches(int n, int c, int height, int width, int groups, bool onePass)
    {
        var s = new GroupNormShape(n, c, height * width, groups, 1e-5f, FuseSilu: 1);
        var random = new Random(7);
        float[] x = [.. Enumerable.Range(0, n * c * height * width).Select(_ => 2f + (float)random.NextDouble())];
        float[] gamma = [.. Enumerable.Range(0, c).Select(_ => 0.5f + (float)random.NextDouble())];
        float[] beta = [.. Enumerable.Range(0, c).Select(_ => (float)random.NextDouble() - 0.5f)];
        var expected = new float[x.Length];
        NormManaged.GroupNorm(x, gamma, beta, expected, s);

        var twoLaunches = new NormLauncher<F32View>(_accelerator, onePass: false);
        var launcher = new NormLauncher<F32View>(_accelerator);
        Assert.Equal(onePass, launcher.TakesOnePass(s, alignedChunks: true));
        Assert.False(twoLaunches.TakesOnePass(s, alignedChunks: true));
        Tolerance.AssertClose(Run(launcher, s, x, gamma, beta), expected, 1e-5, 1e-5, "as launched");
        Tolerance.AssertClose(Run(launcher, s, x, gamma, beta), expected, 1e-5, 1e-5, "launched again (the counters reset)");
        Tolerance.AssertClose(Run(twoLaunches, s, x, gamma, beta), expected, 1e-5, 1e-5, "two launches");
    }

    private float[] Run(NormLauncher<F32View> launcher, GroupNormShape s, float[] x, float[] gamma, float[] beta)
    {
        using var xs = _accelerator.Allocate1D(x);
        using var gammas = _accelerator.Allocate1D(gamma);
        using var betas = _accelerator.Allocate1D(beta);
        using var y = _accelerator.Allocate1D<float>(x.Length);
        using var scratch = _accelerator.Allocate1D<float>(launcher.ScratchLength(s, alignedChunks: true));
        launcher.GroupNorm(new(xs.View), new(gammas.View), new(betas.View), scratch.View, new(y.View), s, alignedChunks: true);
        _accelerator.Synchronize();
        return y.GetAsArray1D();
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }
}
