using Diffuser.Hub;
using Diffuser.IO;

namespace Diffuser.Tests.Hub;

/// <summary>Which files of a repository listing a pipeline needs: the real SD 1.5 layout, variants, shards and broken repositories.</summary>
public sealed class PipelineFilesTests
{
    private static readonly DiffusersComponentRef[] Sd15Components =
    [
        new("feature_extractor", "transformers", "CLIPImageProcessor"), new("safety_checker", "stable_diffusion", "StableDiffusionSafetyChecker"),
        new("scheduler", "diffusers", "PNDMScheduler"), new("text_encoder", "transformers", "CLIPTextModel"),
        new("tokenizer", "transformers", "CLIPTokenizer"), new("unet", "diffusers", "UNet2DConditionModel"), new("vae", "diffusers", "AutoencoderKL"),
    ];

    /// <summary>The file list of the stable-diffusion-v1-5 repository's final revision.</summary>
    private static readonly string[] Sd15Listing =
    [
        ".gitattributes", "README.md", "model_index.json", "v1-5-pruned-emaonly.ckpt", "v1-5-pruned-emaonly.safetensors", "v1-5-pruned.ckpt",
        "v1-5-pruned.safetensors", "feature_extractor/preprocessor_config.json", "safety_checker/config.json", "safety_checker/model.fp16.safetensors",
        "safety_checker/model.safetensors", "safety_checker/pytorch_model.bin", "safety_checker/pytorch_model.fp16.bin",
        "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
        "text_encoder/pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json", "unet/diffusion_pytorch_model.bin",
        "unet/diffusion_pytorch_model.fp16.bin", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.non_ema.bin",
        "unet/diffusion_pytorch_model.non_ema.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
        "vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.fp16.bin", "vae/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
    ];

    private static readonly string[] Sd15Configs =
    [
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json", "tokenizer/vocab.json", "unet/config.json", "vae/config.json",
    ];

    [Fact]
    public void DefaultSelectionIsConfigsTokenizerAndFullPrecisionSafetensors()
    {
        var set = PipelineFiles.Select(Sd15Listing, Sd15Components, new ModelFileOptions());
        Assert.True(set.IsComplete, string.Join("; ", set.Problems));
        string[] expected = [.. Sd15Configs, "text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), set.Files.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Fp16VariantReplacesTheFullWeights()
    {
        var set = PipelineFiles.Select(Sd15Listing, Sd15Components, new ModelFileOptions { Variant = "fp16", IncludeSafetyChecker = true });
        Assert.Contains("unet/diffusion_pytorch_model.fp16.safetensors", set.Files);
        Assert.Contains("safety_checker/model.fp16.safetensors", set.Files);
        Assert.Contains("feature_extractor/preprocessor_config.json", set.Files);
        Assert.DoesNotContain(set.Files, f => f.EndsWith(".bin", StringComparison.Ordinal) || f.Contains("non_ema") || !f.Contains('/') && f != "model_index.json");
        Assert.DoesNotContain("unet/diffusion_pytorch_model.safetensors", set.Files);
    }

    [Fact]
    public void ShardedWeightsComeWithTheirIndexAndMustBeComplete()
    {
        string[] listing =
        [
            "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
            "unet/diffusion_pytorch_model-00002-of-00002.safetensors", "unet/diffusion_pytorch_model.safetensors.index.json",
            "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
            "unet/diffusion_pytorch_model.bin.index.json",
        ];
        DiffusersComponentRef[] unet = [new("unet", "diffusers", "UNet2DConditionModel")];
        var set = PipelineFiles.Select(listing, unet, new ModelFileOptions());
        Assert.True(set.IsComplete, string.Join("; ", set.Problems));
        Assert.Equal(
            ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
             "unet/diffusion_pytorch_model-00002-of-00002.safetensors", "unet/diffusion_pytorch_model.safetensors.index.json"],
            set.Files);

        var fp16 = PipelineFiles.Select(listing, unet, new ModelFileOptions { Variant = "fp16" });
        Assert.Contains("unet: weight shard 2 of 2 is missing", fp16.Problems);
        Assert.Contains("unet/diffusion_pytorch_model.safetensors.index.fp16.json", fp16.Files);
    }

    [Fact]
    public void OnlyPyTorchWeightsIsAProblemNamingThem()
    {
        string[] listing = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.bin"];
        var set = PipelineFiles.Select(listing, [new("unet", "diffusers", "UNet2DConditionModel")], new ModelFileOptions());
        var problem = Assert.Single(set.Problems);
        Assert.Contains("no safetensors weights", problem);
        Assert.Contains("diffusion_pytorch_model.bin", problem);
    }

    [Fact]
    public void MissingComponentFolderAndConfigsAreProblems()
    {
        string[] listing = ["model_index.json", "tokenizer/vocab.json", "scheduler/README.md"];
        var set = PipelineFiles.Select(listing, Sd15Components, new ModelFileOptions());
        Assert.Contains("tokenizer: merges.txt is missing", set.Problems);
        Assert.Contains("scheduler: scheduler_config.json is missing", set.Problems);
        Assert.Contains("unet: the folder is missing or empty", set.Problems);
        Assert.DoesNotContain(set.Problems, p => p.StartsWith("safety_checker", StringComparison.Ordinal));
    }

    [Fact]
    public void RepositoryWithoutModelIndexIsOneComponent()
    {
        string[] listing = ["README.md", "config.json", "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "taesd_decoder.pth"];
        var set = PipelineFiles.Select(listing, null, new ModelFileOptions());
        Assert.True(set.IsComplete);
        Assert.Equal(["config.json", "diffusion_pytorch_model.safetensors"], set.Files);

        var nothing = PipelineFiles.Select(["README.md"], null, new ModelFileOptions());
        Assert.Contains("not a diffusers pipeline or model", Assert.Single(nothing.Problems));
    }
}
