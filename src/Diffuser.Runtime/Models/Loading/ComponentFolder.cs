using System.Text.Json;
using Diffuser.Weights;

namespace Diffuser.Models.Loading;

/// <summary>
/// The files of one diffusers model component (<c>&lt;pipeline&gt;/unet</c>, <c>&lt;pipeline&gt;/vae</c>, a TAESD
/// folder): its <c>config.json</c> and its weights, found in diffusers' order of preference: the plain
/// <c>diffusion_pytorch_model.safetensors</c>, a sharded checkpoint with its <c>.safetensors.index.json</c>, then the
/// <c>.fp16</c> variant of either. Asked for a variant, only that variant's files will do (as in diffusers).
/// </summary>
public sealed record ComponentFolder(string Folder, string ConfigPath, IReadOnlyList<string> WeightPaths)
{
    /// <summary>diffusers' weight file stem for models.</summary>
    public const string DiffusersWeightsName = "diffusion_pytorch_model";

    /// <summary>transformers' weight file stem (the text encoders).</summary>
    public const string TransformersWeightsName = "model";

    /// <summary>Locates config and weights in <paramref name="folder"/>; fails naming the folder and what is missing.</summary>
    /// <param name="variant">A weight variant such as "fp16" (<c>x.fp16.safetensors</c>); null prefers full precision.</param>
    public static ComponentFolder Find(string folder, string weightsName = DiffusersWeightsName, string? variant = null)
    {
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DiffuserException($"Model component folder not found: {full} (expected config.json and {weightsName}.safetensors in it).");
        var config = Path.Combine(full, "config.json");
        if (!File.Exists(config)) throw new DiffuserException($"{full}: no config.json in the model component folder.");
        foreach (var name in CandidateNames(weightsName, variant))
        {
            var path = Path.Combine(full, name);
            if (!File.Exists(path)) continue;
            return new ComponentFolder(full, config, name.EndsWith(".json", StringComparison.Ordinal) ? ShardsOf(path) : [path]);
        }
        var present = string.Join(", ", Directory.EnumerateFiles(full).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        string wanted = variant is null ? $"{weightsName}.safetensors (nor its .fp16 variant or a sharded index)" : $"{weightsName}.{variant}.safetensors (nor its sharded index)";
        throw new DiffuserException($"{full}: no {wanted}. " +
            $"Files present: {(present.Length == 0 ? "none" : present)}. PyTorch .bin/.ckpt checkpoints must be converted to safetensors first.");
    }

    /// <summary>
    /// Weight file names in order of preference: full precision before the fp16 variant, one file before shards.
    /// diffusers names a variant's index <c>x.safetensors.fp16.index.json</c>, transformers <c>x.safetensors.index.fp16.json</c>.
    /// </summary>
    private static string[] CandidateNames(string stem, string? variant) => variant is null
        ? [$"{stem}.safetensors", $"{stem}.safetensors.index.json", .. VariantNames(stem, "fp16")]
        : VariantNames(stem, variant);

    private static string[] VariantNames(string stem, string variant) =>
        [$"{stem}.{variant}.safetensors", $"{stem}.safetensors.{variant}.index.json", $"{stem}.safetensors.index.{variant}.json"];

    /// <summary>Opens every weight file (memory-mapped) as one source of named tensors.</summary>
    public SafetensorsWeightSource OpenWeights() => new([.. WeightPaths]);

    /// <summary>The shard files an index's <c>weight_map</c> names, each once, in order of first appearance.</summary>
    private static List<string> ShardsOf(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new DiffuserException($"{indexPath}: no 'weight_map' object of tensor name → shard file.");
            var dir = Path.GetDirectoryName(indexPath)!;
            var shards = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.GetString() ?? throw new DiffuserException($"{indexPath}: tensor '{entry.Name}' maps to null.");
                var path = Path.GetFullPath(Path.Combine(dir, file));
                if (Path.GetDirectoryName(path) != dir) throw new DiffuserException($"{indexPath}: shard '{file}' is outside the folder.");
                if (!shards.Contains(path)) shards.Add(path);
            }
            foreach (var shard in shards)
                if (!File.Exists(shard)) throw new DiffuserException($"{indexPath}: shard file {Path.GetFileName(shard)} is missing.");
            if (shards.Count == 0) throw new DiffuserException($"{indexPath}: the weight_map is empty.");
            return shards;
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{indexPath}: not a valid index JSON: {e.Message}", e);
        }
    }
}
