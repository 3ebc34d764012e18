using Diffuser.Backends;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models;

/// <summary>Forward passes return every intermediate to the pool, so repeated steps allocate nothing new.</summary>
public sealed class ModelMemoryTests : IDisposable
{
    private readonly Backend _backend = TestBackend.Create();

    [Fact]
    public void UnetStepsReuseTheirBuffersAndLeakNothing()
    {
        using var unet = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd2"), _backend);
        var f = Golden.Open("tiny-sd2", "unet.safetensors");
        using var sample = f.Load(_backend, "sample");
        using var context = f.Load(_backend, "encoder_hidden_states");
        long inUse = InUse();

        using (unet.Forward(sample, 999f, context)) { }
        Assert.Equal(inUse, InUse());
        long allocations = _backend.Pool.Allocations;
        using (unet.Forward(sample, [500f, 1f], context)) { }
        Assert.Equal(allocations, _backend.Pool.Allocations);
        Assert.Equal(inUse, InUse());
    }

    [Fact]
    public void VaeRoundTripLeaksNothing()
    {
        using var vae = AutoencoderKL.FromModelFolder(TestPaths.Model("tiny-sd"), _backend);
        using var image = _backend.FromHost(new float[3 * 16 * 16], new TensorShape(1, 3, 16, 16));
        long inUse = InUse();
        using (var latents = vae.EncodeLatents(image))
        using (vae.Decode(latents)) { }
        Assert.Equal(inUse, InUse());
    }

    [Fact]
    public void OddLatentSizesUpsampleToTheSkipSizes()
    {
        // 7×9 latents: the down path gives 4×5, and the upsampler must return to 7×9 rather than 8×10.
        using var unet = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd"), _backend);
        using var sample = _backend.FromHost(Enumerable.Range(0, 4 * 7 * 9).Select(i => MathF.Sin(i)).ToArray(), new TensorShape(1, 4, 7, 9));
        using var context = _backend.FromHost(new float[77 * 32], new TensorShape(1, 77, 32));
        var sizes = new Dictionary<string, int[]>();
        using var output = unet.Forward(sample, 500f, context, hook: (name, t) => sizes[name] = t.Shape.Dims.ToArray());
        Assert.Equal([1, 4, 7, 9], output.Shape.Dims.ToArray());
        Assert.Equal([1, 32, 4, 5], sizes["down_blocks.0"]);
        Assert.Equal([1, 64, 7, 9], sizes["up_blocks.0"]);
        Assert.All(output.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    private long InUse() => _backend.Pool.BytesAllocated - _backend.Pool.BytesFree;

    public void Dispose() => _backend.Dispose();
}
