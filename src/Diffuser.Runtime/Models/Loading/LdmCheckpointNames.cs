using System.Globalization;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Weights;

namespace Diffuser.Models.Loading;

/// <summary>
/// The tensor names of original Stable Diffusion (LDM/CompVis) single-file checkpoints, in diffusers' names: the
/// inverse of diffusers' <c>scripts/convert_diffusers_to_original_stable_diffusion.py</c>, derived from each
/// component's config (so any block count and layers_per_block), with each component's prefix in the file.
/// </summary>
public static class LdmCheckpointNames
{
    public const string UnetPrefix = "model.diffusion_model.";
    public const string VaePrefix = "first_stage_model.";

    /// <summary>SD 1.x's CLIP ViT-L text encoder: transformers' own names after the prefix.</summary>
    public const string ClipTextPrefix = "cond_stage_model.transformer.";

    /// <summary>SD 2.x's OpenCLIP ViT-H text encoder, in OpenCLIP's names.</summary>
    public const string OpenClipTextPrefix = "cond_stage_model.model.";

    private const string OpenClipLayers = "transformer.resblocks.";

    // A resnet's parts: LDM's ResBlock (in_layers = norm, SiLU, conv; out_layers = norm, SiLU, dropout, conv).
    private static readonly (string, string)[] UnetResnet =
    [
        ("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("out_layers.0.", "norm2."), ("out_layers.3.", "conv2."),
        ("emb_layers.1.", "time_emb_proj."), ("skip_connection.", "conv_shortcut."),
    ];

    private static readonly (string, string)[] OpenClipLayer =
    [
        ("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2."),
        ("attn.", "self_attn."),
    ];

    private static readonly (string, string)[] VaeResnet = [("nin_shortcut.", "conv_shortcut.")];

    private static readonly (string, string)[] VaeAttention =
        [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0.")];

    /// <summary>
    /// The UNet's names: LDM numbers its layers in one sequence, <c>input_blocks.k</c> (conv_in, then each down block's
    /// resnet+attention layers and its downsampler) and <c>output_blocks.k</c> (each up block's layers, the last one
    /// also holding the upsampler), with <c>.0</c> the resnet and <c>.1</c> the attention of a layer.
    /// </summary>
    public static PrefixRenames Unet(UNet2DConditionConfig config)
    {
        var layout = UNetLayout.Resolve(config.Validate());
        var names = new PrefixRenames()
            .Add("time_embed.0.", "time_embedding.linear_1.")
            .Add("time_embed.2.", "time_embedding.linear_2.")
            .Add("input_blocks.0.0.", "conv_in.")
            .Add("middle_block.0.", "mid_block.resnets.0.", UnetResnet)
            .Add("middle_block.1.", "mid_block.attentions.0.")
            .Add("middle_block.2.", "mid_block.resnets.1.", UnetResnet)
            .Add("out.0.", "conv_norm_out.")
            .Add("out.2.", "conv_out.");
        int k = 1;
        foreach (var block in layout.Down)
        {
            for (int j = 0; j < block.Layers; j++) AddLayer(names, $"input_blocks.{k++}", block, j);
            if (block.HasSampler) names.Add($"input_blocks.{k++}.0.op.", $"{block.Name}.downsamplers.0.conv.");
        }
        k = 0;
        foreach (var block in layout.Up)
            for (int j = 0; j < block.Layers; j++, k++)
            {
                AddLayer(names, $"output_blocks.{k}", block, j);
                if (block.HasSampler && j == block.Layers - 1)
                    names.Add($"output_blocks.{k}.{(block.HasCrossAttention ? 2 : 1)}.", $"{block.Name}.upsamplers.0.");
            }
        return names;
    }

    private static void AddLayer(PrefixRenames names, string layer, UNetBlockSpec block, int j)
    {
        names.Add($"{layer}.0.", $"{block.Name}.resnets.{j}.", UnetResnet);
        if (block.HasCrossAttention) names.Add($"{layer}.1.", $"{block.Name}.attentions.{j}.");
    }

    /// <summary>
    /// The VAE's names: LDM's <c>down.i.block.j</c> / <c>up.i.block.j</c> (up blocks numbered from the deepest, the
    /// reverse of diffusers'), <c>mid.block_1</c>, <c>mid.attn_1</c> and <c>norm_out</c>.
    /// </summary>
    public static PrefixRenames Vae(AutoencoderKLConfig config)
    {
        int n = config.Validate().BlockOutChannels!.Length;
        var names = new PrefixRenames();
        foreach (var part in new[] { "encoder", "decoder" })
            names.Add($"{part}.norm_out.", $"{part}.conv_norm_out.")
                .Add($"{part}.mid.block_1.", $"{part}.mid_block.resnets.0.", VaeResnet)
                .Add($"{part}.mid.block_2.", $"{part}.mid_block.resnets.1.", VaeResnet)
                .Add($"{part}.mid.attn_1.", $"{part}.mid_block.attentions.0.", VaeAttention);
        for (int i = 0; i < n; i++)
        {
            int up = n - 1 - i;
            for (int j = 0; j < config.LayersPerBlock; j++) names.Add($"encoder.down.{i}.block.{j}.", $"encoder.down_blocks.{i}.resnets.{j}.", VaeResnet);
            for (int j = 0; j <= config.LayersPerBlock; j++) names.Add($"decoder.up.{up}.block.{j}.", $"decoder.up_blocks.{i}.resnets.{j}.", VaeResnet);
            if (i == n - 1) continue;
            names.Add($"encoder.down.{i}.downsample.", $"encoder.down_blocks.{i}.downsamplers.0.");
            names.Add($"decoder.up.{up}.upsample.", $"decoder.up_blocks.{i}.upsamplers.0.");
        }
        return names;
    }

    /// <summary>LDM stores the VAE attention's q, k, v and output projections as 1×1 convolutions, [C, C, 1, 1]; diffusers as linear layers, [C, C].</summary>
    public static int[] VaeShape(string name, int[] shape) =>
        name.Contains(".mid_block.attentions.0.to_", StringComparison.Ordinal) && shape is [_, _, 1, 1] ? shape[..2] : shape;

    /// <summary>
    /// SD 2.x's text encoder in transformers' names (the inverse of diffusers' <c>convert_text_enc_state_dict_v20</c>):
    /// each layer's fused <c>attn.in_proj_weight</c>/<c>_bias</c> is its q, k and v projections' rows in that order.
    /// The layers past <paramref name="config"/>'s (SD 2.x uses 23 of OpenCLIP ViT-H's 24), <c>text_projection</c> and
    /// <c>logit_scale</c> are not used.
    /// </summary>
    public static Func<string, IReadOnlyList<string>> OpenClipText(ClipTextConfig config)
    {
        var names = new PrefixRenames()
            .Add("token_embedding.weight", "text_model.embeddings.token_embedding.weight")
            .Add("positional_embedding", "text_model.embeddings.position_embedding.weight")
            .Add("ln_final.", "text_model.final_layer_norm.");
        for (int i = 0; i < config.NumHiddenLayers; i++) names.Add($"{OpenClipLayers}{i}.", $"text_model.encoder.layers.{i}.", OpenClipLayer);
        return name =>
        {
            if (name is "text_projection" or "logit_scale" || LayerIndex(name) >= config.NumHiddenLayers) return [];
            var renamed = names.Rename(name);
            foreach (var kind in new[] { "weight", "bias" })
                if (renamed.EndsWith($".in_proj_{kind}", StringComparison.Ordinal))
                {
                    var attention = renamed[..^$"in_proj_{kind}".Length];
                    return [$"{attention}q_proj.{kind}", $"{attention}k_proj.{kind}", $"{attention}v_proj.{kind}"];
                }
            return [renamed];
        };
    }

    /// <summary>The layer of an OpenCLIP transformer tensor name; −1 for others.</summary>
    private static int LayerIndex(string name)
    {
        if (!name.StartsWith(OpenClipLayers, StringComparison.Ordinal)) return -1;
        var rest = name.AsSpan(OpenClipLayers.Length);
        int dot = rest.IndexOf('.');
        return dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? index : -1;
    }

    /// <summary>The text encoder's names: transformers' own; checkpoints from before transformers 4.20 lack the <c>text_model.</c> level.</summary>
    public static PrefixRenames ClipText() => new PrefixRenames()
        .Add("embeddings.", "text_model.embeddings.")
        .Add("encoder.", "text_model.encoder.")
        .Add("final_layer_norm.", "text_model.final_layer_norm.");
}
