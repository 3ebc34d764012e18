using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.IO;

/// <summary>Reading diffusers folder layouts: model_index.json components, config class names, weight variants and shards.</summary>
public sealed class DiffusersFolderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void ModelIndexListsRealComponentsOnly()
    {
        var components = DiffusersFolder.ReadComponents(TestPaths.Model("tiny-sd"));
        // tiny-sd's model_index.json sets safety_checker, feature_extractor and image_encoder to [null, null].
        Assert.Equal(["scheduler", "text_encoder", "tokenizer", "unet", "vae"], components.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.Contains(new DiffusersComponentRef("unet", "diffusers", "UNet2DConditionModel"), components);
        Assert.Contains(new DiffusersComponentRef("text_encoder", "transformers", "CLIPTextModel"), components);
    }

    [Fact]
    public void ClassNamesComeFromEachKindOfConfig()
    {
        string sd = TestPaths.Model("tiny-sd");
        Assert.Equal("UNet2DConditionModel", DiffusersFolder.ReadClassName(Path.Combine(sd, "unet")));
        Assert.Equal("CLIPTextModel", DiffusersFolder.ReadClassName(Path.Combine(sd, "text_encoder")));
        Assert.Equal("PNDMScheduler", DiffusersFolder.ReadClassName(Path.Combine(sd, "scheduler")));
        Assert.Equal("CLIPTokenizer", DiffusersFolder.ReadClassName(Path.Combine(sd, "tokenizer")));
        Assert.Equal("StableDiffusionPipeline", DiffusersFolder.ReadClassName(sd));
        Assert.Null(DiffusersFolder.ReadClassName(_dir.Path));
    }

    [Fact]
    public void WeightFilesGroupByVariantWithShardsInOrder()
    {
        foreach (string name in new[] { "diffusion_pytorch_model.fp16-00002-of-00002.safetensors", "diffusion_pytorch_model.safetensors",
                     "diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "diffusion_pytorch_model.bf16.safetensors", "config.json" })
            File.WriteAllText(_dir.File(name), "");
        var sets = DiffusersFolder.FindWeightFiles(_dir.Path);
        Assert.Equal([null, "bf16", "fp16"], sets.Select(s => s.Variant));
        Assert.Equal([_dir.File("diffusion_pytorch_model.safetensors")], sets[0].Files);
        Assert.Equal([_dir.File("diffusion_pytorch_model.fp16-00001-of-00002.safetensors"), _dir.File("diffusion_pytorch_model.fp16-00002-of-00002.safetensors")], sets[2].Files);
        Assert.Empty(DiffusersFolder.FindWeightFiles(_dir.File("missing")));
    }

    [Fact]
    public void BadModelIndexNamesItsPath()
    {
        string path = _dir.File(DiffusersFolder.ModelIndexFile);
        File.WriteAllText(path, "{ not json");
        Assert.True(DiffusersFolder.IsPipeline(_dir.Path));
        Assert.Contains(path, Assert.Throws<DiffuserException>(() => DiffusersFolder.ReadComponents(_dir.Path)).Message);
    }

    public void Dispose() => _dir.Dispose();
}
