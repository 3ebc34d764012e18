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
    [Theory, InlineData("sd15"), InlineData("sd21"), InlineData("sdxl")]
    public void UnetConsumesTheManifestExactly(string model)
    {
        var folder = Path.Combine(TestPaths.Model(model), "unet");
        var config = UNet2DConditionConfig.Load(Path.Combine(folder, "config.json"));
        using var manifest = new ManifestWeightSource(Path.Combine(folder, "weights-manifest.json"));
        AssertExact(UNet2DConditionModel.Plan(config, manifest), folder);
    }

    [Theory, InlineData("sd15"), InlineData("sd21"), InlineData("sdxl")]
    public void VaeConsumesTheManifestExactly(string model)
    {
        var folder = Path.Combine(TestPaths.Model(model), "vae");
        var config = AutoencoderKLConfig.Load(Path.Combine(folder, "config.json"));
        using var manifest = new ManifestWeightSource(Path.Combine(folder, "weights-manifest.json"));
        AssertExact(AutoencoderKL.Plan(config, manifest), folder);
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

    private static void AssertExact(WeightLoadReport report, string folder)
    {
        Assert.True(report.IsExact, report.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "weights-manifest.json")));
        Assert.Equal(doc.RootElement.GetProperty("num_tensors").GetInt32(), report.Consumed);
        Assert.Equal(doc.RootElement.GetProperty("num_elements").GetInt64(), report.ParameterCount);
    }
}
