namespace Diffuser.Pipelines;

/// <summary>How <see cref="StableDiffusionPipeline.Load"/> assembles a pipeline from a diffusers folder.</summary>
public sealed record PipelineOptions
{
    /// <summary>A TAESD (AutoencoderTiny) folder used instead of the model's VAE for encoding and decoding: much
    /// faster, slightly less faithful.</summary>
    public string? TinyAutoencoderFolder { get; init; }
}
