using System.Text.RegularExpressions;

namespace Diffuser.Tests.Models.SingleFile;

/// <summary>
/// diffusers' <c>scripts/convert_diffusers_to_original_stable_diffusion.py</c> (v0.31) transcribed: diffusers names
/// to the original LDM single-file names, with the script's SD-specific tables (4 UNet blocks of 2 layers, attention
/// where SD 1.x has it) and its sequential string replacements. The one change: the VAE's block count is a parameter
/// (the script hard-codes SD's 4, which numbers the decoder's up blocks from 3). It is the independent side of the
/// tests of <see cref="Diffuser.Models.Loading.LdmCheckpointNames"/>, which derives the inverse from a config.
/// </summary>
internal static class LdmConversionScript
{
    private static readonly (string Sd, string Hf)[] UnetMap =
    [
        ("time_embed.0.weight", "time_embedding.linear_1.weight"), ("time_embed.0.bias", "time_embedding.linear_1.bias"),
        ("time_embed.2.weight", "time_embedding.linear_2.weight"), ("time_embed.2.bias", "time_embedding.linear_2.bias"),
        ("input_blocks.0.0.weight", "conv_in.weight"), ("input_blocks.0.0.bias", "conv_in.bias"),
        ("out.0.weight", "conv_norm_out.weight"), ("out.0.bias", "conv_norm_out.bias"),
        ("out.2.weight", "conv_out.weight"), ("out.2.bias", "conv_out.bias"),
    ];

    private static readonly (string Sd, string Hf)[] UnetResnetMap =
    [
        ("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("out_layers.0", "norm2"), ("out_layers.3", "conv2"),
        ("emb_layers.1", "time_emb_proj"), ("skip_connection", "conv_shortcut"),
    ];

    private static readonly List<(string Sd, string Hf)> UnetLayerMap = BuildUnetLayerMap();

    private static List<(string, string)> BuildUnetLayerMap()
    {
        var map = new List<(string, string)>();
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                map.Add(($"input_blocks.{3 * i + j + 1}.0.", $"down_blocks.{i}.resnets.{j}."));
                if (i < 3) map.Add(($"input_blocks.{3 * i + j + 1}.1.", $"down_blocks.{i}.attentions.{j}."));
            }
            for (int j = 0; j < 3; j++)
            {
                map.Add(($"output_blocks.{3 * i + j}.0.", $"up_blocks.{i}.resnets.{j}."));
                if (i > 0) map.Add(($"output_blocks.{3 * i + j}.1.", $"up_blocks.{i}.attentions.{j}."));
            }
            if (i < 3)
            {
                map.Add(($"input_blocks.{3 * (i + 1)}.0.op.", $"down_blocks.{i}.downsamplers.0.conv."));
                map.Add(($"output_blocks.{3 * i + 2}.{(i == 0 ? 1 : 2)}.", $"up_blocks.{i}.upsamplers.0."));
            }
        }
        map.Add(("middle_block.1.", "mid_block.attentions.0."));
        for (int j = 0; j < 2; j++) map.Add(($"middle_block.{2 * j}.", $"mid_block.resnets.{j}."));
        return map;
    }

    /// <summary><c>convert_unet_state_dict</c>'s renaming of one UNet tensor name.</summary>
    public static string Unet(string hf)
    {
        var v = UnetMap.FirstOrDefault(m => m.Hf == hf).Sd ?? hf;
        if (hf.Contains("resnets", StringComparison.Ordinal))
            foreach (var (sd, part) in UnetResnetMap) v = v.Replace(part, sd, StringComparison.Ordinal);
        foreach (var (sd, part) in UnetLayerMap) v = v.Replace(part, sd, StringComparison.Ordinal);
        return v;
    }

    private static List<(string Sd, string Hf)> VaeMap(int blocks)
    {
        var map = new List<(string, string)> { ("nin_shortcut", "conv_shortcut"), ("norm_out", "conv_norm_out"), ("mid.attn_1.", "mid_block.attentions.0.") };
        for (int i = 0; i < blocks; i++)
        {
            for (int j = 0; j < 2; j++) map.Add(($"encoder.down.{i}.block.{j}.", $"encoder.down_blocks.{i}.resnets.{j}."));
            if (i < blocks - 1)
            {
                map.Add(($"down.{i}.downsample.", $"down_blocks.{i}.downsamplers.0."));
                map.Add(($"up.{blocks - 1 - i}.upsample.", $"up_blocks.{i}.upsamplers.0."));
            }
            for (int j = 0; j < 3; j++) map.Add(($"decoder.up.{blocks - 1 - i}.block.{j}.", $"decoder.up_blocks.{i}.resnets.{j}."));
        }
        for (int i = 0; i < 2; i++) map.Add(($"mid.block_{i + 1}.", $"mid_block.resnets.{i}."));
        return map;
    }

    private static readonly (string Sd, string Hf)[] VaeAttentionMap =
        [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0.")];

    /// <summary><c>convert_vae_state_dict</c>'s renaming of one VAE tensor name.</summary>
    public static string Vae(string hf, int blocks = 4)
    {
        var v = hf;
        foreach (var (sd, part) in VaeMap(blocks)) v = v.Replace(part, sd, StringComparison.Ordinal);
        if (hf.Contains("attentions", StringComparison.Ordinal))
            foreach (var (sd, part) in VaeAttentionMap) v = v.Replace(part, sd, StringComparison.Ordinal);
        return v;
    }

    /// <summary>Whether <c>convert_vae_state_dict</c> reshapes the tensor to a 1×1 convolution's [C, C, 1, 1].</summary>
    public static bool IsVaeConvAttention(string sd) =>
        new[] { "q", "k", "v", "proj_out" }.Any(w => sd.Contains($"mid.attn_1.{w}.weight", StringComparison.Ordinal));

    private static readonly (string Sd, string Hf)[] TextV20Map =
    [
        ("resblocks.", "text_model.encoder.layers."), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), (".c_fc.", ".fc1."),
        (".c_proj.", ".fc2."), (".attn", ".self_attn"), ("ln_final.", "transformer.text_model.final_layer_norm."),
        ("token_embedding.weight", "transformer.text_model.embeddings.token_embedding.weight"),
        ("positional_embedding", "transformer.text_model.embeddings.position_embedding.weight"),
    ];

    private static readonly Regex TextV20Pattern = new(string.Join("|", TextV20Map.Select(m => Regex.Escape(m.Hf))));

    private static string RelabelV20(string name) => TextV20Pattern.Replace(name, m => TextV20Map.First(x => x.Hf == m.Value).Sd);

    /// <summary>
    /// SD 2.x's text encoder as the script converts it: "transformer." put before every name, then
    /// <c>convert_text_enc_state_dict_v20</c> (q, k and v projections concatenated into <c>in_proj_weight</c>/<c>_bias</c>,
    /// names relabelled), in the order the script emits them.
    /// </summary>
    public static List<(string Name, float[] Values, int[] Shape)> TextV20(IEnumerable<(string Name, float[] Values, int[] Shape)> hf)
    {
        var converted = new List<(string, float[], int[])>();
        var qkv = new Dictionary<(string Prefix, string Kind), (float[] Values, int[] Shape)[]>();
        foreach (var (name, values, shape) in hf.Select(t => ("transformer." + t.Name, t.Values, t.Shape)))
        {
            var match = Regex.Match(name, @"^(?<pre>.*\.self_attn)\.(?<code>[qkv])_proj\.(?<kind>weight|bias)$");
            if (!match.Success)
            {
                converted.Add((RelabelV20(name), values, shape));
                continue;
            }
            var key = (match.Groups["pre"].Value, match.Groups["kind"].Value);
            if (!qkv.TryGetValue(key, out var parts)) qkv[key] = parts = new (float[], int[])[3];
            parts["qkv".IndexOf(match.Groups["code"].Value[0])] = (values, shape);
        }
        foreach (var ((prefix, kind), parts) in qkv.OrderBy(p => p.Key.Kind == "bias"))
            converted.Add(($"{RelabelV20(prefix)}.in_proj_{kind}", parts.SelectMany(p => p.Values).ToArray(),
                [parts.Sum(p => p.Shape[0]), .. parts[0].Shape[1..]]));
        return converted;
    }

    /// <summary>The script's prefixes for the three models in one file (SD 1.x's text encoder names are transformers' own).</summary>
    public const string UnetPrefix = "model.diffusion_model.", VaePrefix = "first_stage_model.", TextPrefix = "cond_stage_model.transformer.";

    /// <summary>The prefix of SD 2.x's text encoder.</summary>
    public const string TextV20Prefix = "cond_stage_model.model.";
}
