using System.Text.Json.Serialization;

namespace Diffuser.Cli.Inspection;

/// <summary>One tensor of a safetensors file.</summary>
public sealed record TensorReport(string Name, [property: JsonPropertyName("dtype")] string DType, int[] Shape, long Parameters, long Bytes);

/// <summary>A safetensors file: totals, tensors per dtype, metadata and every tensor (sorted by name).</summary>
public sealed record FileReport(
    string Path, int TensorCount, long ParameterCount, long Bytes,
    [property: JsonPropertyName("dtypes")] IReadOnlyDictionary<string, int> DTypes, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<TensorReport> Tensors);

/// <summary>
/// One weight variant of a model component (a component with several variants, e.g. fp32 and fp16 files, gets one
/// report each; a component without weights, such as a scheduler, one report with no files).
/// </summary>
/// <param name="Files">Weight files relative to the inspected folder: safetensors files, or a weights-manifest.json
/// when the folder has only the manifest (names and shapes, no values: <see cref="Bytes"/> is then null).</param>
public sealed record ComponentReport(
    string Name, string? Library, string? ClassName, string? Variant, IReadOnlyList<string> Files,
    int TensorCount, long ParameterCount, long? Bytes, [property: JsonPropertyName("dtypes")] IReadOnlyDictionary<string, int> DTypes);

/// <summary>A diffusers pipeline folder (kind "pipeline") or a single component folder (kind "component").</summary>
public sealed record FolderReport(
    string Path, string Kind, string? ClassName, IReadOnlyList<ComponentReport> Components, long ParameterCount, long? Bytes);
