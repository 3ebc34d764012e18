using System.Text.Json;
using System.Text.RegularExpressions;

namespace Diffuser.IO;

/// <summary>A component a pipeline's <c>model_index.json</c> names: <c>"unet": ["diffusers", "UNet2DConditionModel"]</c>.</summary>
/// <param name="Name">The component's key, which is also its folder name (unet, vae, text_encoder, scheduler, ...).</param>
/// <param name="Library">The library that defines the class (diffusers, transformers).</param>
/// <param name="ClassName">The class model_index.json names.</param>
public sealed record DiffusersComponentRef(string Name, string Library, string ClassName);

/// <summary>The safetensors files of one weight variant of a component: one file, or the shards of a sharded checkpoint.</summary>
/// <param name="Variant">The variant infix (<c>fp16</c> in <c>diffusion_pytorch_model.fp16.safetensors</c>); null for the default weights.</param>
public sealed record SafetensorsWeightFiles(string? Variant, IReadOnlyList<string> Files);

/// <summary>
/// Reads the layout of diffusers folders as <c>save_pretrained</c> writes them: a pipeline folder holds
/// <c>model_index.json</c> and one sub-folder per component; a component folder holds its config and its weights
/// (<c>diffusion_pytorch_model[.variant][-0000i-of-0000n].safetensors</c> or <c>model[...].safetensors</c>).
/// </summary>
public static partial class DiffusersFolder
{
    public const string ModelIndexFile = "model_index.json";

    /// <summary>Whether <paramref name="directory"/> is a pipeline folder (has model_index.json).</summary>
    public static bool IsPipeline(string directory) => File.Exists(Path.Combine(directory, ModelIndexFile));

    /// <summary>
    /// The components model_index.json lists, in its order. Entries that are not a [library, class] pair (the
    /// pipeline's own settings) and components set to [null, null] (e.g. a removed safety checker) are left out.
    /// </summary>
    public static IReadOnlyList<DiffusersComponentRef> ReadComponents(string pipelineDirectory)
    {
        string path = Path.Combine(pipelineDirectory, ModelIndexFile);
        using var json = ParseJson(path);
        if (json.RootElement.ValueKind != JsonValueKind.Object)
            throw new DiffuserException($"{path}: model_index.json is a JSON {json.RootElement.ValueKind}, not an object.");
        var components = new List<DiffusersComponentRef>();
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            if (entry.Name.StartsWith('_') || entry.Value.ValueKind != JsonValueKind.Array || entry.Value.GetArrayLength() != 2) continue;
            if (entry.Value[0].ValueKind == JsonValueKind.String && entry.Value[1].ValueKind == JsonValueKind.String)
                components.Add(new DiffusersComponentRef(entry.Name, entry.Value[0].GetString()!, entry.Value[1].GetString()!));
        }
        return components;
    }

    /// <summary>
    /// The class a folder's config names: diffusers' <c>_class_name</c> (config.json, scheduler_config.json or a
    /// pipeline's model_index.json), transformers' <c>architectures[0]</c> or a tokenizer's <c>tokenizer_class</c>;
    /// null when the folder has no such config.
    /// </summary>
    public static string? ReadClassName(string directory)
    {
        foreach (var (file, key) in new[] { ("config.json", "_class_name"), ("config.json", "architectures"),
                     ("scheduler_config.json", "_class_name"), ("tokenizer_config.json", "tokenizer_class"), (ModelIndexFile, "_class_name") })
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path)) continue;
            using var json = ParseJson(path);
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty(key, out var value)) continue;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.String)
                return value[0].GetString();
        }
        return null;
    }

    /// <summary>
    /// The safetensors files of a component folder grouped by variant (default weights first, then variants by
    /// name), shards in order.
    /// </summary>
    public static IReadOnlyList<SafetensorsWeightFiles> FindWeightFiles(string componentDirectory)
    {
        if (!Directory.Exists(componentDirectory)) return [];
        return Directory.EnumerateFiles(componentDirectory, "*.safetensors")
            .GroupBy(VariantOf)
            .OrderBy(g => g.Key is not null).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SafetensorsWeightFiles(g.Key, g.Order(StringComparer.Ordinal).ToList()))
            .ToList();
    }

    /// <summary>"fp16" for <c>model.fp16.safetensors</c> or <c>model.fp16-00001-of-00002.safetensors</c>; null for <c>model.safetensors</c>.</summary>
    internal static string? VariantOf(string path)
    {
        string name = ShardSuffix().Replace(Path.GetFileNameWithoutExtension(path), "");
        int dot = name.IndexOf('.');
        return dot < 0 ? null : name[(dot + 1)..];
    }

    [GeneratedRegex(@"-\d+-of-\d+$")]
    private static partial Regex ShardSuffix();

    private static JsonDocument ParseJson(string path)
    {
        if (!File.Exists(path)) throw new DiffuserException($"File not found: {path}");
        try { return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }); }
        catch (JsonException e) { throw new DiffuserException($"{path}: not valid JSON ({e.Message})", e); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DiffuserException($"{path}: cannot read ({e.Message})", e); }
    }
}
