using System.Text.Json;
using System.Text.Json.Serialization;
using Diffuser.Configs;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' UNet2DConditionModel config.json (property names are the JSON keys in snake_case). Scalars default to
/// diffusers' defaults; the structure (block types and widths, cross_attention_dim) must be in the file.
/// <see cref="Validate"/> rejects what this engine does not implement, quoting the value.
/// </summary>
public sealed record UNet2DConditionConfig
{
    public const string CrossAttnDownBlock = "CrossAttnDownBlock2D", DownBlock = "DownBlock2D";
    public const string CrossAttnUpBlock = "CrossAttnUpBlock2D", UpBlock = "UpBlock2D";
    public const string MidBlockCrossAttn = "UNetMidBlock2DCrossAttn";

    /// <summary>The file this config was read from (for messages).</summary>
    [JsonIgnore] public string Source { get; init; } = "unet config";

    public OneOrMany<int>? SampleSize { get; init; }
    public int InChannels { get; init; } = 4;
    public int OutChannels { get; init; } = 4;
    public bool CenterInputSample { get; init; }
    public bool FlipSinToCos { get; init; } = true;
    public float FreqShift { get; init; }
    public string[]? DownBlockTypes { get; init; }
    public string? MidBlockType { get; init; } = MidBlockCrossAttn;
    public string[]? UpBlockTypes { get; init; }
    public OneOrMany<bool> OnlyCrossAttention { get; init; } = false;
    public int[]? BlockOutChannels { get; init; }
    public OneOrMany<int> LayersPerBlock { get; init; } = 2;
    public int DownsamplePadding { get; init; } = 1;
    public float MidBlockScaleFactor { get; init; } = 1f;
    public string ActFn { get; init; } = "silu";
    public int? NormNumGroups { get; init; } = 32;
    public float NormEps { get; init; } = 1e-5f;
    public OneOrMany<int>? CrossAttentionDim { get; init; }
    public OneOrMany<int> TransformerLayersPerBlock { get; init; } = 1;
    public JsonElement? ReverseTransformerLayersPerBlock { get; init; }
    public OneOrMany<int>? AttentionHeadDim { get; init; } = 8;
    public OneOrMany<int>? NumAttentionHeads { get; init; }
    public bool DualCrossAttention { get; init; }
    public bool UseLinearProjection { get; init; }
    public bool? UpcastAttention { get; init; }
    public string? ClassEmbedType { get; init; }
    public int? NumClassEmbeds { get; init; }
    public string? AdditionEmbedType { get; init; }
    public int? AdditionTimeEmbedDim { get; init; }
    public int? ProjectionClassEmbeddingsInputDim { get; init; }
    public string? EncoderHidDimType { get; init; }
    public int? EncoderHidDim { get; init; }
    public string ResnetTimeScaleShift { get; init; } = "default";
    public bool ResnetSkipTimeAct { get; init; }
    public float ResnetOutScaleFactor { get; init; } = 1f;
    public string TimeEmbeddingType { get; init; } = "positional";
    public int? TimeEmbeddingDim { get; init; }
    public string? TimeEmbeddingActFn { get; init; }
    public string? TimestepPostAct { get; init; }
    public int? TimeCondProjDim { get; init; }
    public int ConvInKernel { get; init; } = 3;
    public int ConvOutKernel { get; init; } = 3;
    public string AttentionType { get; init; } = "default";
    public bool ClassEmbeddingsConcat { get; init; }
    public string? CrossAttentionNorm { get; init; }

    /// <summary>Reads and validates <c>config.json</c>.</summary>
    public static UNet2DConditionConfig Load(string path) => JsonConfig.Load<UNet2DConditionConfig>(path) with { Source = path };

    /// <summary>Channels of the first block: the width of the sinusoidal timestep projection.</summary>
    public int TimeProjectionDim => BlockOutChannels![0];
    /// <summary>Width of the time embedding every resnet receives.</summary>
    public int TimeEmbedDim => TimeEmbeddingDim ?? BlockOutChannels![0] * 4;
    public int NormGroups => NormNumGroups!.Value;
    /// <summary>2^(number of upsamplers): latent sizes that are multiples of this need no explicit upsample sizes.</summary>
    public int UpsampleFactor => 1 << (BlockOutChannels!.Length - 1);
    /// <summary>The default latent height and width (sample_size, square unless the config gives two values).</summary>
    public (int Height, int Width)? DefaultLatentSize => SampleSize is null ? null
        : SampleSize.IsList ? (SampleSize.Values[0], SampleSize.Values[^1]) : (SampleSize.Values[0], SampleSize.Values[0]);
    /// <summary>SDXL's micro-conditioning: pooled text embeddings and six size/crop numbers added to the time embedding.</summary>
    public bool HasTextTimeEmbedding => AdditionEmbedType == "text_time";

    /// <summary>Fails with a message quoting the first value this engine cannot build a model from.</summary>
    public UNet2DConditionConfig Validate()
    {
        void Fail(string what) => throw new DiffuserException($"{Source}: {what}.");
        void Require(bool ok, string key, object? value, string expected)
        {
            if (!ok) Fail($"{key} = {Quote(value)} is not supported (expected {expected})");
        }

        if (BlockOutChannels is not { Length: > 0 } channels) { Fail("block_out_channels is missing or empty"); return this; }
        if (DownBlockTypes is null || UpBlockTypes is null) Fail("down_block_types and up_block_types are required");
        if (CrossAttentionDim is null) Fail("cross_attention_dim is required");
        int n = channels.Length;
        if (DownBlockTypes!.Length != n || UpBlockTypes!.Length != n)
            Fail($"down_block_types ({DownBlockTypes.Length}), up_block_types ({UpBlockTypes!.Length}) and block_out_channels {Quote(channels)} ({n}) must have the same length");
        foreach (var t in DownBlockTypes) Require(t is CrossAttnDownBlock or DownBlock, "down_block_types entry", t, $"{CrossAttnDownBlock} or {DownBlock}");
        foreach (var t in UpBlockTypes) Require(t is CrossAttnUpBlock or UpBlock, "up_block_types entry", t, $"{CrossAttnUpBlock} or {UpBlock}");
        Require(MidBlockType == MidBlockCrossAttn, "mid_block_type", MidBlockType, MidBlockCrossAttn);
        Require(NormNumGroups is > 0, "norm_num_groups", NormNumGroups, "a positive group count");
        foreach (int c in channels)
            Require(c > 0 && c % NormNumGroups!.Value == 0, "block_out_channels entry", c, $"a positive multiple of norm_num_groups {NormNumGroups}");
        Require(InChannels > 0, "in_channels", InChannels, "≥ 1");
        Require(OutChannels > 0, "out_channels", OutChannels, "≥ 1");
        Require(NormEps > 0, "norm_eps", NormEps, "> 0");
        Require(MidBlockScaleFactor > 0, "mid_block_scale_factor", MidBlockScaleFactor, "> 0");
        Require(ResnetOutScaleFactor > 0, "resnet_out_scale_factor", ResnetOutScaleFactor, "> 0");
        Require(DownsamplePadding >= 0, "downsample_padding", DownsamplePadding, "≥ 0");
        Require(ConvInKernel > 0 && ConvInKernel % 2 == 1, "conv_in_kernel", ConvInKernel, "an odd size");
        Require(ConvOutKernel > 0 && ConvOutKernel % 2 == 1, "conv_out_kernel", ConvOutKernel, "an odd size");
        Require(ActFn == "silu", "act_fn", ActFn, "silu");
        Require(TimeEmbeddingType == "positional", "time_embedding_type", TimeEmbeddingType, "positional");
        Require(ResnetTimeScaleShift == "default", "resnet_time_scale_shift", ResnetTimeScaleShift, "default");
        Require(!ResnetSkipTimeAct, "resnet_skip_time_act", ResnetSkipTimeAct, "false");
        Require(AttentionType == "default", "attention_type", AttentionType, "default");
        Require(!DualCrossAttention, "dual_cross_attention", DualCrossAttention, "false");
        Require(OnlyCrossAttention.Values.All(v => !v), "only_cross_attention", OnlyCrossAttention, "false");
        Require(ClassEmbedType is null && NumClassEmbeds is null, "class_embed_type", ClassEmbedType ?? $"{NumClassEmbeds} classes", "null");
        Require(!ClassEmbeddingsConcat, "class_embeddings_concat", ClassEmbeddingsConcat, "false");
        Require(EncoderHidDimType is null && EncoderHidDim is null, "encoder_hid_dim_type", EncoderHidDimType ?? $"{EncoderHidDim}", "null");
        Require(TimeCondProjDim is null, "time_cond_proj_dim", TimeCondProjDim, "null");
        Require(TimeEmbeddingActFn is null, "time_embedding_act_fn", TimeEmbeddingActFn, "null");
        Require(TimestepPostAct is null, "timestep_post_act", TimestepPostAct, "null");
        Require(CrossAttentionNorm is null, "cross_attention_norm", CrossAttentionNorm, "null");
        Require(TimeEmbeddingDim is null or > 0, "time_embedding_dim", TimeEmbeddingDim, "a positive width or null");
        Require(ReverseTransformerLayersPerBlock is null || ReverseTransformerLayersPerBlock.Value.ValueKind == JsonValueKind.Null,
            "reverse_transformer_layers_per_block", ReverseTransformerLayersPerBlock, "null");
        Require(AdditionEmbedType is null or "text_time", "addition_embed_type", AdditionEmbedType, "null or text_time");
        if (HasTextTimeEmbedding)
            Require(AdditionTimeEmbedDim is > 0 && ProjectionClassEmbeddingsInputDim is > 0, "addition_time_embed_dim / projection_class_embeddings_input_dim",
                $"{AdditionTimeEmbedDim} / {ProjectionClassEmbeddingsInputDim}", "positive widths for addition_embed_type text_time");
        if (SampleSize is not null)
            Require(SampleSize.Values.All(s => s > 0) && SampleSize.Values.Count <= 2, "sample_size", SampleSize, "one or two positive sizes");

        var layout = UNetLayout.Resolve(this);
        foreach (var block in layout.Down.Concat(layout.Up).Append(layout.Mid))
        {
            Require(block.Layers > 0, $"{block.Name} layers", block.Layers, "≥ 1");
            if (!block.HasCrossAttention) continue;
            Require(block.Heads > 0 && block.OutChannels % block.Heads == 0, $"{block.Name} attention heads", block.Heads,
                $"a divisor of its {block.OutChannels} channels");
            Require(block.TransformerLayers > 0, $"{block.Name} transformer layers", block.TransformerLayers, "≥ 1");
            Require(block.CrossAttentionDim > 0, $"{block.Name} cross_attention_dim", block.CrossAttentionDim, "> 0");
        }
        return this;
    }

    private static string Quote(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        int[] a => $"[{string.Join(", ", a)}]",
        JsonElement e => e.GetRawText(),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
    };
}
