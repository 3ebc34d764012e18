using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>How <see cref="StableDiffusionPipeline.Load"/> assembles a pipeline from a diffusers folder.</summary>
public sealed record PipelineOptions
{
    /// <summary>A TAESD (AutoencoderTiny) folder used instead of the model's VAE for encoding and decoding: much
    /// faster, slightly less faithful.</summary>
    public string? TinyAutoencoderFolder { get; init; }

    /// <summary>
    /// Storage of weights and activations: fp16 runs the text encoder, the UNet and the VAE in fp16 storage with fp32
    /// accumulation; the latents and every scheduler step stay fp32 either way.
    /// </summary>
    public DType DType { get; init; } = DType.F32;

    /// <summary>
    /// The VAE's dtype; null follows <see cref="DType"/>, as diffusers' SD 1.x/2.x pipelines do whatever the VAE
    /// config's force_upcast says (fp32 here trades VAE speed for the last bit of precision).
    /// </summary>
    public DType? VaeDType { get; init; }
}
