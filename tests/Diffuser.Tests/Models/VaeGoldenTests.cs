using Diffuser.Backends;
using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models;

/// <summary>AutoencoderKL decode, encode and round trip against diffusers for the three tiny pipelines.</summary>
public class VaeGoldenTests(ModelFixture fixture) : IClassFixture<ModelFixture>
{
    public static TheoryData<string> Models() => new(UNetGoldenTests.Models);

    [Theory, MemberData(nameof(Models))]
    public void Decode(string model)
    {
        var f = Golden.Open(model, "vae.safetensors");
        var vae = fixture.Vae(model);
        var ops = fixture.Backend;
        using var latents = fixture.Load(f, "decode.latents");            // UNet space
        using var unscaled = vae.FromUNetLatents(latents);
        ModelFixture.Check(unscaled, f, "decode.latents_unscaled", 1e-6, 1e-6);

        var seen = new Dictionary<string, float[]>();
        using var image = vae.Decode(unscaled, (name, t) => seen[name] = t.ToArray());
        const string prefix = "decode.intermediate.";
        var names = f.Tensors.Select(t => t.Name).Where(n => n.StartsWith(prefix)).Select(n => n[prefix.Length..]).ToList();
        Assert.Contains("decoder.mid_block", names);
        foreach (var name in names.Where(n => n != "decoder.conv_norm_out"))
            Tolerance.AssertClose(seen[name], f.Floats(prefix + name), 1e-4, 1e-4, $"{model} {name}");
        using (var normOut = fixture.Load(f, prefix + "decoder.conv_norm_out"))
        using (var act = ops.Activate(normOut, Activation.Silu))
            Tolerance.AssertClose(seen["decoder.conv_act"], act.ToArray(), 1e-4, 1e-4, $"{model} silu(decoder.conv_norm_out)");

        ModelFixture.Check(image, f, "decode.image");
        using var unit = VaeImageProcessor.ToUnitRange(ops, image);
        ModelFixture.Check(unit, f, "decode.image_01");
        ModelFixture.CheckBytes(VaeImageProcessor.ToBytesNhwc(unit), f, "decode.image_uint8_nhwc");
    }

    [Theory, MemberData(nameof(Models))]
    public void EncodeAndRoundTrip(string model)
    {
        var f = Golden.Open(model, "vae.safetensors");
        var vae = fixture.Vae(model);
        var ops = fixture.Backend;
        var pixels = f.ReadInt64("encode.image_uint8_hwc").Select(v => (byte)v).ToArray();
        var hwc = f.ShapeOf("encode.image_uint8_hwc");
        using var image = VaeImageProcessor.Preprocess(ops, pixels, hwc[0], hwc[1]);
        ModelFixture.Check(image, f, "encode.image", 0, 0);

        var seen = new Dictionary<string, float[]>();
        using var posterior = vae.Encode(image, (name, t) => seen[name] = t.ToArray());
        Tolerance.AssertClose(seen["encoder_out"], f.Floats("encode.encoder_out"), 1e-4, 1e-4, $"{model} encoder_out");
        Tolerance.AssertClose(seen["moments"], f.Floats("encode.moments"), 1e-4, 1e-4, $"{model} moments");
        ModelFixture.Check(posterior.Mean, f, "encode.mean");
        ModelFixture.Check(posterior.LogVar, f, "encode.logvar");
        ModelFixture.Check(posterior.Std, f, "encode.std");

        using var noise = fixture.Load(f, "encode.noise");
        using var sample = posterior.Sample(noise);
        ModelFixture.Check(sample, f, "encode.sample");
        using (var scaled = vae.ToUNetLatents(sample)) ModelFixture.Check(scaled, f, "encode.latents_scaled");
        using (var mode = posterior.Mode())
        using (var modeScaled = vae.ToUNetLatents(mode))
            ModelFixture.Check(modeScaled, f, "encode.mode_scaled");

        using var mean = vae.EncodeLatents(image);                          // no noise: the mode
        using var roundTrip = vae.Decode(mean);
        ModelFixture.Check(roundTrip, f, "roundtrip.decode_of_mean");
    }

    [Fact]
    public void FactorsComeFromTheConfig()
    {
        Assert.Equal(2, fixture.Vae("tiny-sd").ScaleFactor);
        Assert.Equal(4, fixture.Vae("tiny-digits").ScaleFactor);
        Assert.Equal(0.8126f, fixture.Vae("tiny-digits").ScalingFactor);
        Assert.Equal(0.18215f, fixture.Vae("tiny-sd").ScalingFactor);
        Assert.Equal(0f, fixture.Vae("tiny-sd").ShiftFactor);
    }
}
