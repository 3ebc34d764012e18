using Diffuser.Backends;
using Diffuser.Models.Vae;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Imaging;

namespace Diffuser.Pipelines;

/// <summary>
/// What the init image contributes to one batch of image-to-image or inpainting, as diffusers' img2img and inpaint
/// pipelines prepare it: the image's latents (a VAE posterior sample per image × scaling factor), the starting noise
/// and, for inpainting, the mask at latent size: a 4-channel UNet's latents are blended with the re-noised image
/// latents after every step; a 9-channel inpainting UNet instead reads the mask and the masked image's latents as
/// extra input channels. Owns its tensors.
/// </summary>
internal sealed class ImageConditioning : IDisposable
{
    private readonly Backend _backend;
    private readonly bool _fromPureNoise;
    private Tensor? _imageLatents, _startNoise, _repaint, _keep, _unetChannels;

    private ImageConditioning(Backend backend, bool fromPureNoise)
    {
        _backend = backend;
        _fromPureNoise = fromPureNoise;
    }

    /// <summary>9-channel inpainting: [mask, masked-image latents] for every UNet batch row, (B or 2B, 1 + C, h, w).</summary>
    public Tensor? UnetChannels => _unetChannels;

    /// <summary>Whether every step ends with the 4-channel inpainting blend (<see cref="Blend"/>).</summary>
    public bool Blends => _repaint is not null;

    /// <param name="needsImageLatents">img2img always; inpainting for a 4-channel UNet or a strength below 1.</param>
    /// <param name="inpaintingUnet">The UNet takes the mask and masked-image channels.</param>
    public static ImageConditioning Create(Backend backend, IImageAutoencoder vae, GenerationPlan plan, bool needsImageLatents,
        bool inpaintingUnet, INoiseSource noise, NoiseDraws draws)
    {
        var image = plan.Request.InitImage!;
        var conditioning = new ImageConditioning(backend, plan.Mode == GenerationMode.Inpainting && plan.Strength >= 1.0);
        try
        {
            using var pixels = VaeImageProcessor.Preprocess(backend, image.Pixels, image.Height, image.Width);   // (1, 3, H, W)
            if (needsImageLatents) conditioning._imageLatents = EncodeScaled(vae, pixels, plan, noise, draws.ImagePosterior);
            conditioning._startNoise = noise.Normal(backend, plan.LatentShape, draws.InitialNoise!.Value);
            if (plan.Request.Mask is { } mask)
            {
                if (inpaintingUnet) conditioning._unetChannels = MaskedImageChannels(vae, pixels, mask, plan, noise, draws.MaskedImagePosterior);
                else conditioning.PrepareBlend(mask, plan);
            }
            return conditioning;
        }
        catch
        {
            conditioning.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The loop's first latents: the image latents noised to the first used timestep; inpainting at strength 1 starts
    /// from pure noise (× init noise sigma) instead, as diffusers does.
    /// </summary>
    public Tensor StartLatents(Scheduler scheduler, SamplerState state) => _fromPureNoise
        ? _backend.Affine(_startNoise!, state.Schedule.InitNoiseSigma)
        : scheduler.AddNoise(_backend, state, _imageLatents!, _startNoise!);

    /// <summary>
    /// 4-channel inpainting after a step: (1 − mask)·image latents noised to the next timestep (clean after the last
    /// step) + mask·latents. Returns a new tensor.
    /// </summary>
    public Tensor Blend(Scheduler scheduler, SamplerState state, Tensor latents)
    {
        using var noised = state.IsComplete ? null : scheduler.AddNoise(_backend, state, _imageLatents!, _startNoise!);
        using var kept = _backend.Multiply(_keep!, noised ?? _imageLatents!);
        using var repainted = _backend.Multiply(_repaint!, latents);
        return _backend.Add(kept, repainted);
    }

    /// <summary>The image (1, 3, H, W) for each image of the batch → VAE latents (a posterior sample with the
    /// batch's draw when the VAE samples) × scaling factor: (B, C, h, w).</summary>
    private static Tensor EncodeScaled(IImageAutoencoder vae, Tensor pixels, GenerationPlan plan, INoiseSource noise, long? draw)
    {
        var backend = vae.Backend;
        using var batch = plan.BatchSize > 1 ? TensorRows.Tile(backend, pixels, plan.BatchSize) : null;
        using var sample = draw is { } d ? noise.Normal(backend, plan.LatentShape, d) : null;
        using var raw = vae.EncodeLatents(batch ?? pixels, sample);
        return vae.ToUNetLatents(raw);
    }

    /// <summary>
    /// The binarised mask at latent size in every plane of <paramref name="shape"/> (B, C, h, w): nearest-neighbour as
    /// torch's interpolate, latent (y, x) reads pixel (y·f, x·f).
    /// </summary>
    private static float[] LatentMask(InpaintMask mask, TensorShape shape)
    {
        int h = shape[2], w = shape[3], f = mask.Height / h;
        var values = new float[shape.ElementCount];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                values[y * w + x] = mask.Repaints(x * f, y * f) ? 1f : 0f;
        for (long p = 1; p < shape.ElementCount / (h * w); p++) values.AsSpan(0, h * w).CopyTo(values.AsSpan((int)(p * h * w)));
        return values;
    }

    /// <summary>The latent mask in every channel of every image (1 = repaint), and its complement.</summary>
    private void PrepareBlend(InpaintMask mask, GenerationPlan plan)
    {
        _repaint = _backend.FromHost(LatentMask(mask, plan.LatentShape), plan.LatentShape);
        _keep = _backend.Affine(_repaint, -1f, 1f);
    }

    /// <summary>
    /// diffusers' prepare_mask_latents: the masked image (init image where the mask keeps, 0 where it repaints) encoded
    /// like the image, after the latent mask: (B, 1 + C, h, w), doubled for guidance.
    /// </summary>
    private static Tensor MaskedImageChannels(IImageAutoencoder vae, Tensor pixels, InpaintMask mask, GenerationPlan plan,
        INoiseSource noise, long? draw)
    {
        var backend = vae.Backend;
        var keep = new float[pixels.Length];
        long plane = (long)mask.Width * mask.Height;
        for (long p = 0; p < plane; p++)
            if (mask.Values[p] < 0.5f) keep[p] = keep[plane + p] = keep[2 * plane + p] = 1f;
        using var keepPixels = backend.FromHost(keep, pixels.Shape);
        using var masked = backend.Multiply(pixels, keepPixels);
        using var maskedLatents = EncodeScaled(vae, masked, plan, noise, draw);                       // (B, C, h, w)
        var maskShape = plan.LatentShape.WithDim(1, 1);
        using var latentMask = backend.FromHost(LatentMask(mask, maskShape), maskShape);               // (B, 1, h, w)
        var channels = backend.Concat(latentMask, maskedLatents, axis: 1);                             // (B, 1 + C, h, w)
        if (!plan.Guided) return channels;
        using (channels) return TensorRows.Tile(backend, channels, 2);
    }

    public void Dispose()
    {
        foreach (var t in new[] { _imageLatents, _startNoise, _repaint, _keep, _unetChannels }) t?.Dispose();
    }
}
