using System.Text.Json.Nodes;
using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Hub;

/// <summary>
/// The files of a fake hub repository built once per test class: shared/models/tiny-sd as it is, with a
/// model_index.json that names a safety checker and feature extractor (as the real SD 1.5 one does), a real fp16
/// variant of the UNet, and the files a pipeline must never fetch: PyTorch .bin and single-file checkpoints,
/// ONNX and Flax weights, a non-EMA variant, a README.
/// </summary>
public sealed class FakeHubRepository
{
    public const string RepoId = "test-org/tiny-sd";
    public const string UnetWeights = "unet/diffusion_pytorch_model.safetensors";
    public const string UnetFp16Weights = "unet/diffusion_pytorch_model.fp16.safetensors";
    public const string VaeWeights = "vae/diffusion_pytorch_model.safetensors";

    public static readonly string[] NeverFetched =
    [
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.non_ema.safetensors", "text_encoder/flax_model.msgpack",
        "text_encoder/model.onnx", "v1-5-pruned-emaonly.ckpt", "v1-5-pruned.safetensors", "README.md",
        "safety_checker/config.json", "safety_checker/model.safetensors", "feature_extractor/preprocessor_config.json",
    ];

    public FakeHubRepository()
    {
        string source = TestPaths.Model("tiny-sd");
        var files = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(source, p).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes);
        var index = JsonNode.Parse(files[DiffusersFolder.ModelIndexFile])!.AsObject();
        index["safety_checker"] = new JsonArray("stable_diffusion", "StableDiffusionSafetyChecker");
        index["feature_extractor"] = new JsonArray("transformers", "CLIPImageProcessor");
        files[DiffusersFolder.ModelIndexFile] = System.Text.Encoding.UTF8.GetBytes(index.ToJsonString());
        files[UnetFp16Weights] = ToFp16(Path.Combine(source, "unet", "diffusion_pytorch_model.safetensors"));
        foreach (string decoy in NeverFetched) files[decoy] = System.Text.Encoding.UTF8.GetBytes($"not to be downloaded: {decoy}");
        Files = files;
    }

    /// <summary>Every file of the repository by its path.</summary>
    public IReadOnlyDictionary<string, byte[]> Files { get; }

    /// <summary>The files a default pipeline resolution downloads: model_index.json and the tiny-sd components.</summary>
    public IEnumerable<string> PipelineFiles => Files.Keys.Where(p => !NeverFetched.Contains(p) && p != UnetFp16Weights).Order(StringComparer.Ordinal);

    public FakeHubServer Serve(string? requiredToken = null) => new(RepoId, Files, requiredToken);

    private static byte[] ToFp16(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var writer = new SafetensorsWriter();
        foreach (var tensor in file.Tensors)
            writer.Add(tensor.Name, Array.ConvertAll(file.ReadSingles(tensor.Name), v => (Half)v), tensor.Shape);
        return writer.ToBytes();
    }
}
