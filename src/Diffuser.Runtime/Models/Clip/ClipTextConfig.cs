using Diffuser.Backends;
using Diffuser.Configs;

namespace Diffuser.Models.Clip;

/// <summary>
/// transformers' <c>CLIPTextConfig</c> as a text_encoder/config.json holds it; defaults are transformers' own.
/// </summary>
public sealed record ClipTextConfig
{
    /// <summary>The config class of <see cref="ModelType"/> a text encoder folder may declare.</summary>
    public const string TextModelType = "clip_text_model";
    /// <summary>The architecture whose checkpoints carry <c>text_projection.weight</c> (SDXL's text_encoder_2).</summary>
    public const string WithProjectionArchitecture = "CLIPTextModelWithProjection";

    public int VocabSize { get; init; } = 49408;
    public int HiddenSize { get; init; } = 512;
    public int IntermediateSize { get; init; } = 2048;
    public int ProjectionDim { get; init; } = 512;
    public int NumHiddenLayers { get; init; } = 12;
    public int NumAttentionHeads { get; init; } = 8;
    public int MaxPositionEmbeddings { get; init; } = 77;
    /// <summary>quick_gelu (SD 1.x), gelu (erf; SD 2.x, SDXL's encoder 2), gelu_new / gelu_pytorch_tanh, relu, silu.</summary>
    public string HiddenAct { get; init; } = "quick_gelu";
    public double LayerNormEps { get; init; } = 1e-5;
    public int PadTokenId { get; init; } = 1;
    public int BosTokenId { get; init; } = 49406;
    /// <summary>2 in every SD config, which selects transformers' legacy pooling (the row of the largest id).</summary>
    public int EosTokenId { get; init; } = 49407;
    public string? ModelType { get; init; }
    public string[]? Architectures { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;
    public bool DeclaresProjection => Architectures?.Contains(WithProjectionArchitecture) == true;

    /// <summary>
    /// transformers' pooling rule: configs written before eos_token_id was fixed say 2, and then the pooled row is
    /// at argmax(input_ids), which is EOS because 49407 is the largest id; otherwise the first id equal to EOS.
    /// </summary>
    public bool PoolsAtLargestId => EosTokenId == 2;

    private const string SupportedActivations = "quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, relu, silu";

    /// <summary>The fused activation of the MLP's first projection.</summary>
    public Activation Activation => ParseActivation(HiddenAct)
        ?? throw new DiffuserException($"hidden_act '{HiddenAct}' is not supported ({SupportedActivations}).");

    private static Activation? ParseActivation(string name) => name switch
    {
        "quick_gelu" => Activation.QuickGelu,
        "gelu" => Activation.GeluErf,
        "gelu_new" or "gelu_pytorch_tanh" => Activation.GeluTanh,
        "relu" => Activation.Relu,
        "silu" or "swish" => Activation.Silu,
        _ => null,
    };

    public static ClipTextConfig Load(string path) => JsonConfig.Load<ClipTextConfig>(path).Validate(path);

    /// <summary>Fails naming the first value that no CLIP text model can have; returns the config.</summary>
    public ClipTextConfig Validate(string source = "CLIP text config")
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new DiffuserException($"{source}: {what}.");
        }
        Require(ModelType is null or TextModelType,
            $"model_type '{ModelType}' is not '{TextModelType}' (a full CLIP config nests the text model under text_config)");
        Require(VocabSize > 0, $"vocab_size {VocabSize} must be positive");
        Require(HiddenSize > 0, $"hidden_size {HiddenSize} must be positive");
        Require(IntermediateSize > 0, $"intermediate_size {IntermediateSize} must be positive");
        Require(NumHiddenLayers > 0, $"num_hidden_layers {NumHiddenLayers} must be positive");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0,
            $"num_attention_heads {NumAttentionHeads} must divide hidden_size {HiddenSize}");
        Require(MaxPositionEmbeddings > 0, $"max_position_embeddings {MaxPositionEmbeddings} must be positive");
        Require(LayerNormEps > 0 && double.IsFinite(LayerNormEps), $"layer_norm_eps {LayerNormEps} must be a positive number");
        Require(!DeclaresProjection || ProjectionDim > 0, $"projection_dim {ProjectionDim} must be positive");
        Require(ParseActivation(HiddenAct) is not null, $"hidden_act '{HiddenAct}' is not supported ({SupportedActivations})");
        return this;
    }
}
