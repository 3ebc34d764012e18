using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Models.Vae;

/// <summary>
/// What pipelines need from a VAE (<see cref="AutoencoderKL"/>, or <see cref="AutoencoderTiny"/> as a fast
/// drop-in): images in [−1, 1] ↔ raw latents, and the factors that relate raw latents to the UNet's latent space.
/// </summary>
public interface IImageAutoencoder : IDisposable
{
    Backend Backend { get; }
    int LatentChannels { get; }
    /// <summary>Image pixels per latent pixel along each side (diffusers' vae_scale_factor).</summary>
    int ScaleFactor { get; }
    /// <summary>UNet latents = (raw − shift_factor) · scaling_factor.</summary>
    float ScalingFactor { get; }
    float ShiftFactor { get; }

    /// <summary>Raw latents (B, latent_channels, h, w) → image (B, 3, h·f, w·f) in about [−1, 1].</summary>
    Tensor Decode(Tensor latents, ForwardHook? hook = null);

    /// <summary>Image (B, 3, H, W) in [−1, 1] → raw latents; a KL VAE samples with <paramref name="noise"/>
    /// (mean + std·noise) or returns the mean when it is null; TAESD ignores it.</summary>
    Tensor EncodeLatents(Tensor image, Tensor? noise = null);
}

public static class ImageAutoencoderExtensions
{
    /// <summary>Raw VAE latents → the UNet's latent space: (raw − shift) · scaling_factor.</summary>
    public static Tensor ToUNetLatents(this IImageAutoencoder vae, Tensor raw) =>
        vae.Backend.Affine(raw, vae.ScalingFactor, -vae.ShiftFactor * vae.ScalingFactor);

    /// <summary>UNet latents → raw VAE latents: latents / scaling_factor + shift.</summary>
    public static Tensor FromUNetLatents(this IImageAutoencoder vae, Tensor latents) =>
        vae.Backend.Affine(latents, 1f / vae.ScalingFactor, vae.ShiftFactor);

    /// <summary>Decodes UNet-space latents (what the denoising loop produces) to an image in about [−1, 1].</summary>
    public static Tensor DecodeUNetLatents(this IImageAutoencoder vae, Tensor latents)
    {
        using var raw = vae.FromUNetLatents(latents);
        return vae.Decode(raw);
    }
}
