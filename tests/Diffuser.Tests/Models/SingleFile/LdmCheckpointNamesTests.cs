using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models.SingleFile;

/// <summary>
/// SD 1.5's single-file names against <c>shared/models/sd15/weights-manifest-ldm.json</c>, which diffusers' conversion
/// script wrote from the same model as the diffusers manifests: the transcribed script reproduces it, the inverse
/// derived from the configs takes every name back, and the models load from it exactly.
/// </summary>
public sealed class LdmCheckpointNamesTests
{
    private static string Sd15(params string[] parts) => Path.Combine([TestPaths.Model("sd15"), .. parts]);

    private static Dictionary<string, int[]> Tensors(string manifest)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(manifest));
        return doc.RootElement.GetProperty("tensors").EnumerateObject()
            .ToDictionary(t => t.Name, t => t.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
    }

    /// <summary>Each diffusers manifest tensor's single-file name (the script's, after its component's prefix) and shape, and the inverse of that name.</summary>
    private static IEnumerable<(string Diffusers, string Prefix, string Ldm, int[] Shape, Func<string, string> Inverse)> Components()
    {
        var unet = LdmCheckpointNames.Unet(UNet2DConditionConfig.Load(Sd15("unet", "config.json")));
        var vae = LdmCheckpointNames.Vae(AutoencoderKLConfig.Load(Sd15("vae", "config.json")));
        var text = LdmCheckpointNames.ClipText();
        foreach (var (name, shape) in Tensors(Sd15("unet", "weights-manifest.json")))
            yield return (name, LdmConversionScript.UnetPrefix, LdmConversionScript.Unet(name), shape, unet.Rename);
        foreach (var (name, shape) in Tensors(Sd15("vae", "weights-manifest.json")))
        {
            var ldm = LdmConversionScript.Vae(name);
            yield return (name, LdmConversionScript.VaePrefix, ldm, LdmConversionScript.IsVaeConvAttention(ldm) ? [.. shape, 1, 1] : shape, vae.Rename);
        }
        foreach (var (name, shape) in Tensors(Sd15("text_encoder", "weights-manifest.json")))
            yield return (name, LdmConversionScript.TextPrefix, name, shape, text.Rename);
    }

    [Fact]
    public void TheTranscribedConversionScriptWritesTheLdmManifest()
    {
        var ldm = Tensors(Sd15("weights-manifest-ldm.json"));
        var converted = Components().ToList();
        Assert.Equal(ldm.Keys.Order(StringComparer.Ordinal), converted.Select(c => c.Prefix + c.Ldm).Order(StringComparer.Ordinal));
        Assert.All(converted, c => Assert.Equal(ldm[c.Prefix + c.Ldm], c.Shape));
    }

    [Fact]
    public void EverySingleFileNameMapsBackToItsDiffusersName()
    {
        var wrong = Components().Select(c => (c.Diffusers, Back: c.Inverse(c.Ldm)))
            .Where(c => c.Back != c.Diffusers).Select(c => $"{c.Diffusers} came back as {c.Back}").ToList();
        Assert.Empty(wrong);
        // checkpoints written before transformers 4.20 lack the text model's own level
        Assert.Equal("text_model.encoder.layers.0.mlp.fc1.weight", LdmCheckpointNames.ClipText().Rename("encoder.layers.0.mlp.fc1.weight"));
    }

    [Fact]
    public void Sd15LoadsExactlyFromItsSingleFileManifest()
    {
        using var checkpoint = new SingleFileCheckpoint(new ManifestWeightSource(Sd15("weights-manifest-ldm.json")));
        Assert.Equal(4, checkpoint.UnetInChannels);
        Assert.Equal("stable-diffusion-v1-5/stable-diffusion-v1-5", checkpoint.DefaultConfigRepository);

        var unetConfig = UNet2DConditionConfig.Load(Sd15("unet", "config.json"));
        using (var unet = checkpoint.Unet(unetConfig))
        {
            var report = UNet2DConditionModel.Plan(unetConfig, unet);
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(859_520_964, report.ParameterCount);
        }
        var vaeConfig = AutoencoderKLConfig.Load(Sd15("vae", "config.json"));
        using (var vae = checkpoint.Vae(vaeConfig))
        {
            var report = AutoencoderKL.Plan(vaeConfig, vae);
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(83_653_863, report.ParameterCount);
        }
        using var meta = new MetaBackend();
        var textConfig = ClipTextConfig.Load(Sd15("text_encoder", "config.json"));
        using var text = checkpoint.TextEncoder(textConfig);
        using var encoder = ClipTextModel.Create(textConfig, text, meta);
        Assert.Equal(123_060_480, encoder.ParameterCount);
    }
}
