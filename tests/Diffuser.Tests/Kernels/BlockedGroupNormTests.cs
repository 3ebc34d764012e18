using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Half = System.Half;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The group norm that writes the channel-blocked layout (<see cref="NormLauncher{T}.GroupNormBlocked"/>) on ILGPU's
/// CPU accelerator, fp32 and fp16, against the managed norm put in blocks (<see cref="ChannelBlocks.FromDense"/>); in
/// fp16 also against the dense two-launch kernel put in blocks, which it must match exactly (same partial sums, same
/// arithmetic per element, so the same rounding). Groups of 2, 4 and 10 channels (blocks of 8 that straddle two
/// groups), planes of one block's pixels or fewer (8×8: 8 threads of work) and of several blocks (64×40: 320 steps of
/// 8 pixels, 7 partial sums a group), x around 3 (the shift by x₀ matters). One accelerator and its launchers serve
/// every case (a kernel is compiled once per specialisation, not per case). fp32 on two of the shapes.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class BlockedGroupNormTests(BlockedGroupNormTests.Device device) : IClassFixture<BlockedGroupNormTests.Device>
{
    private readonly Accelerator _accelerator = device.Accelerator;

    /// <summary>(channels, groups, height, width, SiLU): groups of 2, 4 and 10 channels, each on a small plane and a larger one, with and without SiLU.</summary>
    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        { 16, 8, 8, 8, 1 }, { 16, 8, 64, 40, 0 },
        { 32, 8, 8, 8, 0 }, { 32, 8, 16, 24, 1 },
        { 40, 4, 8, 8, 1 }, { 40, 4, 16, 24, 0 }, { 40, 4, 64, 40, 1 },
    };

    /// <summary>The fp32 kernel on groups of 2 and 10 channels, with and without SiLU (the fp16 one, which SD runs, on every shape).</summary>
    public static TheoryData<int, int, int, int, int> Fp32Shapes() => new() { { 16, 8, 64, 40, 0 }, { 40, 4, 16, 24, 1 } };

    [Theory, MemberData(nameof(Fp32Shapes))]
    public void Fp32MatchesTheManagedNormInBlocks(int c, int groups, int height, int width, int silu)
    {
        var s = new GroupNormShape(2, c, height * width, groups, 1e-5f, silu);
        var (x, gamma, beta) = Inputs(s, v => v);
        float[] blocked = Run(device.Singles, s, x, gamma, beta, v => v, v => v, a => new F32View(a), blockedOutput: true);
        Tolerance.AssertClose(blocked, Expected(s, x, gamma, beta), 1e-5, 1e-5, "fp32, blocked");
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Fp16MatchesTheManagedNormInBlocks(int c, int groups, int height, int width, int silu)
    {
        var s = new GroupNormShape(2, c, height * width, groups, 1e-5f, silu);
        var (x, gamma, beta) = Inputs(s, v => (float)(Half)v);
        var launcher = device.Halves;
        float[] blocked = Run(launcher, s, x, gamma, beta, ToHalf, FromHalf, a => new F16View(a), blockedOutput: true);
        Tolerance.AssertClose(blocked, Expected(s, x, gamma, beta), 2e-3, 2e-3, "fp16, blocked");
        Assert.Equal(Blocks(s, Run(launcher, s, x, gamma, beta, ToHalf, FromHalf, a => new F16View(a), blockedOutput: false)), blocked);
    }

    /// <summary>
    /// Every norm SD 1.5 runs before a convolution at 512² (32 groups, SiLU; UNet at batch 2, the VAE decoder and
    /// encoder at batch 1) takes the one launch on an H200's 264 resident blocks; (batch, channels, plane side, one pass).
    /// </summary>
    [Theory]
    [InlineData(2, 320, 64, true), InlineData(2, 320, 32, true), InlineData(2, 640, 32, true), InlineData(2, 640, 16, true)]
    [InlineData(2, 1280, 16, true), InlineData(2, 1280, 8, true), InlineData(2, 2560, 16, true), InlineData(2, 2560, 8, true)]
    [InlineData(2, 1920, 32, true), InlineData(2, 1920, 16, true), InlineData(2, 960, 64, true), InlineData(2, 960, 32, true)]
    [InlineData(1, 512, 64, true), InlineData(1, 512, 128, true), InlineData(1, 512, 256, true), InlineData(1, 256, 256, true)]
    [InlineData(1, 256, 512, true), InlineData(1, 128, 512, true), InlineData(1, 128, 256, true)]
    [InlineData(1, 128, 1024, false)]   // the VAE at 1024²: 512 slices a unit
    public void SdNormsBeforeAConvolutionTakeOnePassOnAnH200(int n, int c, int side, bool onePass)
    {
        var s = new GroupNormShape(n, c, side * side, 32, 1e-6f, 1);
        Assert.True(NormLauncher<F16View>.SupportsBlocked(s));
        Assert.Equal(onePass, NormLauncher<F16View>.FitsOnePassBlocked(s, residentBlocks: 2 * 132));
    }

    [Theory]
    [InlineData(12, 4, 8, 8)]   // channels not a multiple of 8
    [InlineData(16, 8, 6, 6)]   // a plane of 36 pixels
    public void RejectsShapesThatAreNotWholeBlocks(int c, int groups, int height, int width)
    {
        var s = new GroupNormShape(1, c, height * width, groups, 1e-5f, 0);
        Assert.False(NormLauncher<F32View>.SupportsBlocked(s));
        var (x, gamma, beta) = Inputs(s, v => v);
        Assert.Throws<ArgumentException>(() => Run(device.Singles, s, x, gamma, beta, v => v, v => v, a => new F32View(a), blockedOutput: true));
    }

    [Fact]
    public void RejectsUnalignedTensors()
    {
        var s = new GroupNormShape(1, 16, 64, 8, 1e-5f, 0);
        Assert.True(NormLauncher<F32View>.SupportsBlocked(s));
        using var buffer = _accelerator.Allocate1D<float>(16 * 64);
        using var scratch = _accelerator.Allocate1D<float>(device.Singles.BlockedScratchLength(s));
        var view = new F32View(buffer.View);
        Assert.Throws<ArgumentException>(() => device.Singles.GroupNormBlocked(view, view, view, scratch.View, view, s, alignedChunks: false));
    }

    /// <summary>x around 3 (so that x₀ shifts a large mean), gamma around 1, beta around 0, each through <paramref name="storage"/>'s rounding.</summary>
    private static (float[] X, float[] Gamma, float[] Beta) Inputs(GroupNormShape s, Func<float, float> storage)
    {
        var random = new Random(11);
        float[] x = [.. Enumerable.Range(0, s.N * s.C * s.Spatial).Select(_ => storage(2.5f + (float)random.NextDouble()))];
        float[] gamma = [.. Enumerable.Range(0, s.C).Select(_ => storage(0.5f + (float)random.NextDouble()))];
        float[] beta = [.. Enumerable.Range(0, s.C).Select(_ => storage((float)random.NextDouble() - 0.5f))];
        return (x, gamma, beta);
    }

    private static float[] Expected(GroupNormShape s, float[] x, float[] gamma, float[] beta)
    {
        var dense = new float[x.Length];
        NormManaged.GroupNorm(x, gamma, beta, dense, s);
        return Blocks(s, dense);
    }

    private static float[] Blocks(GroupNormShape s, float[] dense)
    {
        var blocked = new float[dense.Length];
        ChannelBlocks.FromDense(dense, blocked, s.N, s.C, s.Spatial);
        return blocked;
    }

    private static ushort ToHalf(float v) => BitConverter.HalfToUInt16Bits((Half)v);

    private static float FromHalf(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>The blocked norm, or the dense two-launch one (<see cref="NormLauncher{T}.GroupNorm"/>), on tensors stored as <typeparamref name="TElement"/>.</summary>
    private float[] Run<TView, TElement>(NormLauncher<TView> launcher, GroupNormShape s, float[] x, float[] gamma, float[] beta,
        Func<float, TElement> store, Func<TElement, float> load, Func<ArrayView<TElement>, TView> view, bool blockedOutput)
        where TView : struct, IElementView<TView>
        where TElement : unmanaged
    {
        using var xs = _accelerator.Allocate1D(x.Select(store).ToArray());
        using var gammas = _accelerator.Allocate1D(gamma.Select(store).ToArray());
        using var betas = _accelerator.Allocate1D(beta.Select(store).ToArray());
        using var y = _accelerator.Allocate1D<TElement>(x.Length);
        int scratchLength = blockedOutput ? launcher.BlockedScratchLength(s) : launcher.ScratchLength(s, alignedChunks: true);
        using var scratch = _accelerator.Allocate1D<float>(scratchLength);
        if (blockedOutput) launcher.GroupNormBlocked(view(xs.View), view(gammas.View), view(betas.View), scratch.View, view(y.View), s, alignedChunks: true);
        else launcher.GroupNorm(view(xs.View), view(gammas.View), view(betas.View), scratch.View, view(y.View), s, alignedChunks: true);
        _accelerator.Synchronize();
        return [.. y.GetAsArray1D().Select(load)];
    }

    /// <summary>
    /// A CPU accelerator of one multiprocessor (no block waits for another here, and fewer threads leave the cores to
    /// the other test classes; one of <see cref="GroupNormLaunchTests"/>'s) and two-launch norm launchers for both storages.
    /// </summary>
    public sealed class Device() : CpuAcceleratorFixture(multiprocessors: 1)
    {
        public NormLauncher<F32View> Singles => field ??= new(Accelerator, onePass: false);

        public NormLauncher<F16View> Halves => field ??= new(Accelerator, onePass: false);
    }
}
