using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Clip;

public sealed partial class ClipTextModel
{
    public const string ConfigFile = "config.json";
    public const string ManifestFile = "weights-manifest.json";

    /// <summary>
    /// Loads a text encoder folder (<c>&lt;model&gt;/text_encoder</c>, SDXL's <c>text_encoder_2</c>): config.json and
    /// <c>model[.variant].safetensors</c>, or the shards listed by <c>model[.variant].safetensors.index.json</c>.
    /// </summary>
    /// <param name="variant">diffusers' weight variant, e.g. "fp16" for <c>model.fp16.safetensors</c>.</param>
    public static ClipTextModel Load(string folder, Backend backend, DType dtype = DType.F32, string? variant = null)
    {
        var config = ClipTextConfig.Load(Path.Combine(folder, ConfigFile));
        using var source = new SafetensorsWeightSource(WeightFiles(folder, variant));
        return Create(config, source, backend, dtype);
    }

    /// <summary>A pipeline folder's text encoder: <c>&lt;modelFolder&gt;/text_encoder</c> (SDXL's second is <c>text_encoder_2</c>).</summary>
    public static ClipTextModel FromModelFolder(string modelFolder, Backend backend, string subfolder = "text_encoder",
        DType dtype = DType.F32, string? variant = null) => Load(Path.Combine(modelFolder, subfolder), backend, dtype, variant);

    /// <summary>
    /// Plan mode: builds the model from config.json and the folder's <c>weights-manifest.json</c> (names and shapes,
    /// no values) on a <see cref="MetaBackend"/>, proving that it consumes every tensor once with its shape.
    /// </summary>
    public static ClipTextModel Plan(string folder, MetaBackend backend)
    {
        var config = ClipTextConfig.Load(Path.Combine(folder, ConfigFile));
        using var source = new ManifestWeightSource(Path.Combine(folder, ManifestFile));
        return Create(config, source, backend);
    }

    /// <summary>The safetensors files of a text encoder folder: the single file, or every shard its index names.</summary>
    public static string[] WeightFiles(string folder, string? variant = null)
    {
        string infix = variant is null ? "" : "." + variant;
        string single = Path.Combine(folder, $"model{infix}.safetensors");
        if (File.Exists(single)) return [single];
        string index = Path.Combine(folder, $"model.safetensors.index{infix}.json");
        if (File.Exists(index)) return ShardsOf(index);
        var present = Directory.Exists(folder) ? string.Join(", ", Directory.EnumerateFiles(folder).Select(Path.GetFileName)) : "folder missing";
        throw new DiffuserException($"No text encoder weights in {folder}: expected {Path.GetFileName(single)} or {Path.GetFileName(index)} " +
            $"(present: {(present.Length == 0 ? "nothing" : present)}). PyTorch .bin checkpoints are not read; convert them to safetensors.");
    }

    /// <summary>The distinct shard files of a transformers index (<c>{"weight_map": {tensor: file}}</c>).</summary>
    private static string[] ShardsOf(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new DiffuserException($"{indexPath}: no 'weight_map' object of tensor → file.");
            string folder = Path.GetDirectoryName(indexPath)!;
            var shards = map.EnumerateObject().Select(p => p.Value.GetString()
                    ?? throw new DiffuserException($"{indexPath}: tensor '{p.Name}' maps to no file."))
                .Distinct().Select(f => Path.Combine(folder, f)).ToArray();
            foreach (var shard in shards)
                if (!File.Exists(shard)) throw new DiffuserException($"{indexPath}: shard {Path.GetFileName(shard)} is missing.");
            return shards;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new DiffuserException($"{indexPath}: not a safetensors index: {e.Message}", e);
        }
    }
}
