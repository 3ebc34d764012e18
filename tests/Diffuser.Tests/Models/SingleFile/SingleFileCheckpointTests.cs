using Diffuser.Models.Loading;
using Diffuser.Pipelines;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models.SingleFile;

/// <summary>Loading a pipeline from an original-layout single-file checkpoint (tiny-sd's weights) and refusing what it cannot load.</summary>
public sealed class SingleFileCheckpointTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Theory]
    [InlineData("tiny-sd", "stable-diffusion-v1-5/stable-diffusion-v1-5")]
    [InlineData("tiny-sd2", "stabilityai/stable-diffusion-2-1")]
    public void ASingleFileGeneratesTheImagesOfItsDiffusersFolder(string model, string baseModel)
    {
        using var backend = TestBackend.Create();
        using var checkpoint = SingleFileCheckpoint.Open(TinySingleFile.Write(_temp.File($"{model}.safetensors"), model: model));
        Assert.Equal(baseModel, checkpoint.DefaultConfigRepository);
        using var single = StableDiffusionPipeline.LoadSingleFile(checkpoint, TinySingleFile.Folder(model), backend);
        using var folder = StableDiffusionPipeline.Load(TinySingleFile.Folder(model), backend);

        var request = new GenerationRequest { Prompt = "a red horse", Steps = 3, Scheduler = "euler_a", Seed = 10 };
        var expected = folder.Generate(request).Images[0].Image.Pixels;
        Assert.Equal(expected, single.Generate(request).Images[0].Image.Pixels);
    }

    [Fact]
    public void AnFp16SingleFileRunsLikeItsFolderInFp16()
    {
        // the folder's fp32 weights are rounded to fp16 on upload, as the file's were when it was written (SD 2.x: its
        // fused q|k|v read in parts from fp16)
        using var backend = TestBackend.Create();
        var options = new PipelineOptions { DType = Tensors.DType.F16 };
        using var checkpoint = SingleFileCheckpoint.Open(TinySingleFile.Write(_temp.File("tiny-sd2-fp16.safetensors"), half: true, model: "tiny-sd2"));
        using var single = StableDiffusionPipeline.LoadSingleFile(checkpoint, TinySingleFile.Folder("tiny-sd2"), backend, options);
        using var folder = StableDiffusionPipeline.Load(TinySingleFile.Folder("tiny-sd2"), backend, options);
        var request = new GenerationRequest { Prompt = "a blue boat", Steps = 2, Scheduler = "ddim", Seed = 4 };
        Assert.Equal(folder.Generate(request).Images[0].Image.Pixels, single.Generate(request).Images[0].Image.Pixels);
    }

    [Fact]
    public void SdxlIsNamedAndRefused()
    {
        var path = TinySingleFile.Write(_temp.File("sdxl.safetensors"),
            add: writer => writer.Add("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", new float[4], 4));
        Assert.Contains("is an SDXL checkpoint", Assert.Throws<DiffuserException>(() => SingleFileCheckpoint.Open(path)).Message);
    }

    [Fact]
    public void FilesThatAreNoSingleFileCheckpointAreRefused()
    {
        Assert.Contains("Checkpoint not found", Assert.Throws<DiffuserException>(() => SingleFileCheckpoint.Open(_temp.File("none.safetensors"))).Message);
        var ckpt = _temp.Write("model.ckpt", [1, 2, 3]);
        Assert.Contains("convert PyTorch .ckpt files first", Assert.Throws<DiffuserException>(() => SingleFileCheckpoint.Open(ckpt)).Message);
        var unet = Path.Combine(TinySingleFile.Folder(), "unet", "diffusion_pytorch_model.safetensors");
        Assert.Contains("is not a Stable Diffusion single-file checkpoint", Assert.Throws<DiffuserException>(() => SingleFileCheckpoint.Open(unet)).Message);
        var noVae = TinySingleFile.Write(_temp.File("unet-only.safetensors"),
            name => name.StartsWith(LdmConversionScript.VaePrefix, StringComparison.Ordinal) ? null : name);
        Assert.Contains("has no VAE", Assert.Throws<DiffuserException>(() => SingleFileCheckpoint.Open(noVae)).Message);
    }

    [Fact]
    public void AMissingTensorIsReportedByItsDiffusersName()
    {
        using var backend = TestBackend.Create();
        var path = TinySingleFile.Write(_temp.File("missing.safetensors"), name => name == "model.diffusion_model.out.2.bias" ? null : name);
        using var checkpoint = SingleFileCheckpoint.Open(path);
        var e = Assert.Throws<WeightLoadException>(() => StableDiffusionPipeline.LoadSingleFile(checkpoint, TinySingleFile.Folder(), backend));
        Assert.Equal(["conv_out.bias [4]"], e.Report.Missing);
        Assert.Empty(e.Report.Unexpected);
    }

    [Fact]
    public void AnInpaintingCheckpointNeedsAnInpaintingModelsConfigs()
    {
        using var backend = TestBackend.Create();
        const string convIn = "model.diffusion_model.input_blocks.0.0.weight";
        var path = TinySingleFile.Write(_temp.File("inpainting.safetensors"), name => name == convIn ? null : name,
            writer => writer.Add(convIn, new float[32 * 9 * 3 * 3], 32, 9, 3, 3));
        using var checkpoint = SingleFileCheckpoint.Open(path);
        Assert.Equal("stable-diffusion-v1-5/stable-diffusion-inpainting", checkpoint.DefaultConfigRepository);
        var e = Assert.Throws<DiffuserException>(() => StableDiffusionPipeline.LoadSingleFile(checkpoint, TinySingleFile.Folder(), backend));
        Assert.Contains("its UNet takes 9 latent channels", e.Message);
    }

    public void Dispose() => _temp.Dispose();
}
