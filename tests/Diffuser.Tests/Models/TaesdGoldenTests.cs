using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models;

/// <summary>AutoencoderTiny with the real TAESD architecture (random weights) against diffusers.</summary>
public class TaesdGoldenTests(ModelFixture fixture) : IClassFixture<ModelFixture>
{
    private static Diffuser.IO.SafetensorsFile File => Golden.Open("taesd-arch-random", "vae.safetensors");

    [Theory, InlineData("astronaut_64"), InlineData("chelsea_128")]
    public void EncodeAndDecodeImage(string image)
    {
        var taesd = fixture.Taesd();
        var ops = fixture.Backend;
        var hwc = File.ShapeOf(image + ".image_uint8");
        var pixels = File.ReadInt64(image + ".image_uint8").Select(v => (byte)v).ToArray();
        using var input = VaeImageProcessor.Preprocess(ops, pixels, hwc[0], hwc[1]);
        ModelFixture.Check(input, File, image + ".image", 0, 0);

        using var latents = taesd.EncodeLatents(input);
        ModelFixture.Check(latents, File, image + ".latents");

        using var goldenLatents = fixture.Load(File, image + ".latents");
        using var decoded = taesd.Decode(goldenLatents);
        ModelFixture.Check(decoded, File, image + ".decoded");
        using var unit = VaeImageProcessor.ToUnitRange(ops, decoded);
        ModelFixture.Check(unit, File, image + ".decoded_01");
    }

    [Fact]
    public void DecodeRandomLatentsAndScaleThem()
    {
        var taesd = fixture.Taesd();
        using var latents = fixture.Load(File, "random.latents");
        using (var decoded = taesd.Decode(latents)) ModelFixture.Check(decoded, File, "random.decoded");
        using var scaled = taesd.ScaleLatents(latents);
        ModelFixture.Check(scaled, File, "random.scale_latents", 1e-6, 1e-6);
        using var unscaled = taesd.UnscaleLatents(scaled);
        ModelFixture.Check(unscaled, File, "random.unscale_latents", 1e-5, 1e-6);
    }

    [Fact]
    public void ActsAsAnSdVae()
    {
        IImageAutoencoder taesd = fixture.Taesd();
        Assert.Equal(8, taesd.ScaleFactor);
        Assert.Equal(4, taesd.LatentChannels);
        Assert.Equal(1f, taesd.ScalingFactor);
    }
}
