using System.Text.Json.Serialization;
using Diffuser.Backends;
using Diffuser.Configs;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' AutoencoderTiny (TAESD) config.json; missing keys take diffusers' defaults, which are TAESD's
/// architecture, so a TAESD folder written by any diffusers version loads unchanged.
/// </summary>
public sealed record AutoencoderTinyConfig
{
    [JsonIgnore] public string Source { get; init; } = "AutoencoderTiny config";

    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public int[] EncoderBlockOutChannels { get; init; } = [64, 64, 64, 64];
    public int[] DecoderBlockOutChannels { get; init; } = [64, 64, 64, 64];
    public string ActFn { get; init; } = "relu";
    public string UpsampleFn { get; init; } = "nearest";
    public int LatentChannels { get; init; } = 4;
    public int UpsamplingScalingFactor { get; init; } = 2;
    public int[] NumEncoderBlocks { get; init; } = [1, 3, 3, 3];
    public int[] NumDecoderBlocks { get; init; } = [3, 3, 3, 1];
    public float LatentMagnitude { get; init; } = 3f;
    public float LatentShift { get; init; } = 0.5f;
    public bool ForceUpcast { get; init; }
    public float ScalingFactor { get; init; } = 1f;
    public float ShiftFactor { get; init; }

    public static AutoencoderTinyConfig Load(string path) => JsonConfig.Load<AutoencoderTinyConfig>(path) with { Source = path };

    /// <summary>The activation act_fn names.</summary>
    public Activation Activation => ActFn switch
    {
        "relu" => Activation.Relu,
        "silu" or "swish" => Activation.Silu,
        _ => throw new DiffuserException($"{Source}: act_fn = '{ActFn}' is not supported (expected relu or silu)."),
    };

    /// <summary>Image pixels per latent pixel: the decoder upsamples between its blocks.</summary>
    public int ScaleFactor => (int)Math.Pow(UpsamplingScalingFactor, NumDecoderBlocks.Length - 1);

    public AutoencoderTinyConfig Validate()
    {
        void Fail(string what) => throw new DiffuserException($"{Source}: {what}.");
        _ = Activation;
        if (UpsampleFn != "nearest") Fail($"upsample_fn = '{UpsampleFn}' is not supported (expected nearest)");
        if (NumEncoderBlocks.Length == 0 || NumEncoderBlocks.Length != EncoderBlockOutChannels.Length)
            Fail($"num_encoder_blocks [{string.Join(", ", NumEncoderBlocks)}] and encoder_block_out_channels [{string.Join(", ", EncoderBlockOutChannels)}] must have the same, non-zero length");
        if (NumDecoderBlocks.Length == 0 || NumDecoderBlocks.Length != DecoderBlockOutChannels.Length)
            Fail($"num_decoder_blocks [{string.Join(", ", NumDecoderBlocks)}] and decoder_block_out_channels [{string.Join(", ", DecoderBlockOutChannels)}] must have the same, non-zero length");
        if (NumEncoderBlocks.Concat(NumDecoderBlocks).Any(n => n < 0)) Fail("block counts must be ≥ 0");
        if (EncoderBlockOutChannels.Concat(DecoderBlockOutChannels).Any(c => c < 1)) Fail("block channels must be ≥ 1");
        if (UpsamplingScalingFactor < 1) Fail($"upsampling_scaling_factor = {UpsamplingScalingFactor} must be ≥ 1");
        if (!(LatentMagnitude > 0)) Fail($"latent_magnitude = {LatentMagnitude} must be > 0");
        if (!(ScalingFactor > 0)) Fail($"scaling_factor = {ScalingFactor} must be > 0");
        if (InChannels < 1 || OutChannels < 1 || LatentChannels < 1)
            Fail($"in_channels {InChannels}, out_channels {OutChannels} and latent_channels {LatentChannels} must be ≥ 1");
        return this;
    }
}
