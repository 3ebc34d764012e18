using System.Text.Json.Serialization;
using Diffuser.Configs;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' AutoencoderKL config.json. Scalars default to diffusers' defaults (scaling_factor 0.18215 for SD 1.x
/// files written before the key existed); the structure must be in the file.
/// </summary>
public sealed record AutoencoderKLConfig
{
    public const string DownEncoderBlock = "DownEncoderBlock2D", UpDecoderBlock = "UpDecoderBlock2D";

    [JsonIgnore] public string Source { get; init; } = "vae config";

    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public string[]? DownBlockTypes { get; init; }
    public string[]? UpBlockTypes { get; init; }
    public int[]? BlockOutChannels { get; init; }
    public int LayersPerBlock { get; init; } = 1;
    public string ActFn { get; init; } = "silu";
    public int LatentChannels { get; init; } = 4;
    public int NormNumGroups { get; init; } = 32;
    public int SampleSize { get; init; } = 32;
    public float ScalingFactor { get; init; } = 0.18215f;
    public float? ShiftFactor { get; init; }
    public bool UseQuantConv { get; init; } = true;
    public bool UsePostQuantConv { get; init; } = true;
    public bool MidBlockAddAttention { get; init; } = true;
    /// <summary>diffusers runs this VAE in fp32 under fp16 pipelines when true; this engine computes in fp32 anyway.</summary>
    public bool ForceUpcast { get; init; } = true;

    public static AutoencoderKLConfig Load(string path) => JsonConfig.Load<AutoencoderKLConfig>(path) with { Source = path };

    /// <summary>Image pixels per latent pixel: 2^(number of blocks − 1) (8 for SD).</summary>
    public int ScaleFactor => 1 << (BlockOutChannels!.Length - 1);

    public AutoencoderKLConfig Validate()
    {
        void Fail(string what) => throw new DiffuserException($"{Source}: {what}.");
        if (BlockOutChannels is not { Length: > 0 } channels) { Fail("block_out_channels is missing or empty"); return this; }
        if (DownBlockTypes?.Length != channels.Length || UpBlockTypes?.Length != channels.Length)
            Fail($"down_block_types and up_block_types must list one block per block_out_channels entry ({channels.Length})");
        foreach (var t in DownBlockTypes!) if (t != DownEncoderBlock) Fail($"down_block_types entry '{t}' is not supported (expected {DownEncoderBlock})");
        foreach (var t in UpBlockTypes!) if (t != UpDecoderBlock) Fail($"up_block_types entry '{t}' is not supported (expected {UpDecoderBlock})");
        if (NormNumGroups < 1) Fail($"norm_num_groups = {NormNumGroups} must be ≥ 1");
        foreach (int c in channels)
            if (c < 1 || c % NormNumGroups != 0) Fail($"block_out_channels entry {c} is not a positive multiple of norm_num_groups {NormNumGroups}");
        if (LayersPerBlock < 1) Fail($"layers_per_block = {LayersPerBlock} must be ≥ 1");
        if (ActFn != "silu") Fail($"act_fn = '{ActFn}' is not supported (expected silu)");
        if (InChannels < 1 || OutChannels < 1 || LatentChannels < 1)
            Fail($"in_channels {InChannels}, out_channels {OutChannels} and latent_channels {LatentChannels} must be ≥ 1");
        if (!(ScalingFactor > 0) || !float.IsFinite(ScalingFactor)) Fail($"scaling_factor = {ScalingFactor} must be a positive number");
        return this;
    }
}
