namespace Diffuser.Pipelines;

/// <summary>What a generation does: it follows from the request (an init image, a mask).</summary>
public enum GenerationMode
{
    TextToImage,
    ImageToImage,
    Inpainting,
}

/// <summary>
/// The draw numbers of a batch's random tensors, in the order diffusers' pipelines call randn_tensor, so a recorded
/// run (noise.00, noise.01, …) replays exactly and Philox draws line up with it. A null number means the draw does
/// not happen. Order: the init image's VAE posterior sample (img2img; inpainting when it needs the image latents);
/// the starting noise (unless replayed latents are given); inpainting's masked-image posterior sample; then one draw
/// per stochastic scheduler step from <see cref="FirstStepDraw"/> on.
/// </summary>
internal sealed record NoiseDraws(long? ImagePosterior, long? InitialNoise, long? MaskedImagePosterior, long FirstStepDraw)
{
    /// <param name="vaeSamples">The VAE samples its posterior (AutoencoderKL); TAESD encodes deterministically.</param>
    /// <param name="needsImageLatents">Inpainting only: diffusers encodes the image for a 4-channel UNet's blending,
    /// or to noise it when strength &lt; 1.</param>
    public static NoiseDraws For(GenerationMode mode, bool vaeSamples, bool initLatentsGiven, bool needsImageLatents)
    {
        long next = 0;
        long? Take(bool happens) => happens ? next++ : null;
        var imagePosterior = Take(vaeSamples && mode switch
        {
            GenerationMode.ImageToImage => true,
            GenerationMode.Inpainting => needsImageLatents,
            _ => false,
        });
        var initialNoise = Take(!initLatentsGiven);
        // diffusers encodes the masked image for every UNet (a 4-channel one ignores it), so the draw is counted even
        // when the pipeline has no use for it.
        var maskedImagePosterior = Take(vaeSamples && mode == GenerationMode.Inpainting);
        return new NoiseDraws(imagePosterior, initialNoise, maskedImagePosterior, next);
    }
}
