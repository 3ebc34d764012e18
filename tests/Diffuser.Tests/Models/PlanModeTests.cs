using System.Text.Json;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models;

/// <summary>
/// Plan mode: the full-size models built on the meta backend from their real config.json must consume every tensor
/// of the real weight manifests exactly once, with its shape, and count the published parameters.
/// </summary>
public class PlanModeTests
{
    [Theory]
    [InlineData("sd15", "unet"), InlineData("sd21", "unet"), InlineData("sdxl", "unet")]
    [InlineData("sd15", "vae"), InlineData("sd21", "vae"), InlineData("sdxl", "vae")]
    public void ManifestIsConsumedExactly(string model, string component)
    {
        var folder = Path.Combine(TestPaths.Model(model), component);
        var config = Path.Combine(folder, "config.json");
        using var manifest = new ManifestWeightSource(Path.Combine(folder, "weights-manifest.json"));
        var report = component == "unet"
            ? UNet2DConditionModel.Plan(UNet2DConditionConfig.Load(config), manifest)
            : AutoencoderKL.Plan(AutoencoderKLConfig.Load(config), manifest);
        Assert.True(report.IsExact, report.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "weights-manifest.json")));
        Assert.Equal(doc.RootElement.GetProperty("num_tensors").GetInt32(), report.Consumed);
        Assert.Equal(doc.RootElement.GetProperty("num_elements").GetInt64(), report.ParameterCount);
    }

    [Fact]
    public void FullSizeLayoutsResolveDiffusersHeadCounts()
    {
        var sd15 = UNetLayout.Resolve(UNet2DConditionConfig.Load(Path.Combine(TestPaths.Model("sd15"), "unet", "config.json")));
        Assert.All(sd15.Down.Where(b => b.HasCrossAttention), b => Assert.Equal(8, b.Heads));  // attention_head_dim 8 = heads
        Assert.Equal([40, 80, 160], sd15.Down.Where(b => b.HasCrossAttention).Select(b => b.HeadDim));
        var sd21 = UNetLayout.Resolve(UNet2DConditionConfig.Load(Path.Combine(TestPaths.Model("sd21"), "unet", "config.json")));
        Assert.All(sd21.Down.Concat(sd21.Up).Append(sd21.Mid).Where(b => b.HasCrossAttention), b => Assert.Equal(64, b.HeadDim));
        Assert.Equal([20, 10, 5], sd21.Up.Where(b => b.HasCrossAttention).Select(b => b.Heads));  // up blocks: the reversed list
        var sdxl = UNetLayout.Resolve(UNet2DConditionConfig.Load(Path.Combine(TestPaths.Model("sdxl"), "unet", "config.json")));
        Assert.Equal([10, 2, 1], sdxl.Up.Select(b => b.TransformerLayers));
        Assert.Equal(10, sdxl.Mid.TransformerLayers);
    }

    [Fact]
    public void InpaintingUnetTakesNineInputChannelsFromItsConfig()
    {
        // An SD 1.5 inpainting UNet differs only in conv_in: latents, mask and masked-image latents.
        var folder = Path.Combine(TestPaths.Model("sd15"), "unet");
        var config = UNet2DConditionConfig.Load(Path.Combine(folder, "config.json")) with { InChannels = 9 };
        using var manifest = new ManifestWeightSource(Path.Combine(folder, "weights-manifest.json"));
        var report = UNet2DConditionModel.Plan(config, manifest);
        Assert.Equal(["conv_in.weight: expected [320, 9, 3, 3], file has [320, 4, 3, 3]"], report.MisShaped);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
    }
}
