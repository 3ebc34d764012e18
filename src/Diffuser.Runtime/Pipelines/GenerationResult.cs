using Diffuser.Imaging;
namespace Diffuser.Pipelines;

/// <summary>What <see cref="StableDiffusionPipeline.Generate"/> returns.</summary>
/// <param name="Images">Every image, batch by batch.</param>
/// <param name="FinalLatents">The UNet-space latents the images were decoded from, when the request asked for them.</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedImage> Images, GenerationTimings Timings, LatentBatch? FinalLatents);

/// <param name="Index">Position among all images of the request.</param>
/// <param name="Seed">The seed its noise came from (replayed noise files aside).</param>
public sealed record GeneratedImage(RgbImage Image, ulong Seed, int Index);

/// <summary>Wall-clock time per stage (device work included: each stage ends with its results on the host or synchronised).</summary>
/// <param name="TextEncode">Tokenising and encoding the prompts (near zero when the embeddings were cached).</param>
/// <param name="PrepareLatents">Making the starting latents: the noise draws and, for img2img and inpainting, the VAE
/// encoding of the init image (and of the masked image).</param>
/// <param name="Steps">Every denoising step (one UNet call and sampler step each), batch after batch.</param>
/// <param name="VaeDecode">Decoding latents to pixels, all batches.</param>
/// <param name="Total">The whole call.</param>
public sealed record GenerationTimings(TimeSpan TextEncode, TimeSpan PrepareLatents, IReadOnlyList<TimeSpan> Steps, TimeSpan VaeDecode, TimeSpan Total)
{
    /// <summary>The sum of <see cref="Steps"/>.</summary>
    public TimeSpan Denoise => Steps.Aggregate(TimeSpan.Zero, (a, b) => a + b);
}

/// <summary>Latents on the host: row-major values of <see cref="Shape"/> (images, channels, height, width).</summary>
public sealed record LatentBatch(float[] Values, int[] Shape);
