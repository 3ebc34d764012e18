using Diffuser.Backends;
using Diffuser.Models.Loading;
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
        using var source = ComponentFolder.Find(folder, ComponentFolder.TransformersWeightsName, variant).OpenWeights();
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
}
