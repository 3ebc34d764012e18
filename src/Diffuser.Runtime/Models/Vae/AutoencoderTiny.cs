using Diffuser.Backends;
using Diffuser.Models.Loading;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' AutoencoderTiny (TAESD): a small conv-only encoder and decoder that approximate the SD VAE, used for
/// fast previews or as a drop-in decoder. Its latents are the SD VAE's raw latents (scaling_factor 1).
/// </summary>
public sealed class AutoencoderTiny : LoadedModel, IImageAutoencoder
{
    private readonly List<TinyLayer> _encoder, _decoder;

    private AutoencoderTiny(AutoencoderTinyConfig config, WeightScope w, Backend backend) : base(backend)
    {
        Config = config;
        _encoder = TinyLayers.Encoder(w.Scope("encoder").Scope("layers"), config);
        _decoder = TinyLayers.Decoder(w.Scope("decoder").Scope("layers"), config);
    }

    public AutoencoderTinyConfig Config { get; }
    public int LatentChannels => Config.LatentChannels;
    public int ScaleFactor => Config.ScaleFactor;
    public float ScalingFactor => Config.ScalingFactor;
    public float ShiftFactor => Config.ShiftFactor;

    /// <summary>Loads a TAESD folder in diffusers format (config.json + diffusion_pytorch_model.safetensors).</summary>
    public static AutoencoderTiny Load(string folder, Backend backend, DType dtype = DType.F32, bool honourForceUpcast = true) =>
        LoadFolder(folder, path => AutoencoderTinyConfig.Load(path).Validate(), (config, source) => FromWeights(config, source, backend, dtype, honourForceUpcast));

    /// <param name="dtype">The pipeline's dtype; a config with <c>force_upcast</c> keeps the weights in fp32 unless
    /// <paramref name="honourForceUpcast"/> is false.</param>
    public static AutoencoderTiny FromWeights(AutoencoderTinyConfig config, IWeightSource source, Backend backend, DType dtype = DType.F32,
        bool honourForceUpcast = true)
    {
        config.Validate();
        return Build(source, backend, config.ForceUpcast && honourForceUpcast ? DType.F32 : dtype, w => new AutoencoderTiny(config, w, backend));
    }

    /// <summary>Image (B, 3, H, W) in [−1, 1], any dtype → raw latents (B, latent_channels, H/f, W/f), fp32.</summary>
    public Tensor Encode(Tensor image)
    {
        if (image.Rank != 4 || image.Shape[1] != Config.InChannels)
            throw new DiffuserException($"TAESD encode: image must be (B, {Config.InChannels}, H, W), got {image.Shape}.");
        using var converted = InModelDType(image);
        using var unit = Backend.Affine(converted ?? image, 0.5f, 0.5f);   // TAESD works on [0, 1] images: (x + 1) / 2
        var latents = TinyLayer.Run(Backend, _encoder, unit);
        if (latents.DType == DType.F32) return latents;
        using (latents) return Backend.Convert(latents, DType.F32);
    }

    public Tensor EncodeLatents(Tensor image, Tensor? noise = null) => Encode(image);

    /// <summary>
    /// Raw latents (any dtype) → image in about [−1, 1], in the model's dtype: the latents are soft-clamped to ±3 by
    /// 3·tanh(x/3) first.
    /// </summary>
    public Tensor Decode(Tensor latents, ForwardHook? hook = null)
    {
        if (latents.Rank != 4 || latents.Shape[1] != Config.LatentChannels)
            throw new DiffuserException($"TAESD decode: latents must be (B, {Config.LatentChannels}, h, w), got {latents.Shape}.");
        using var converted = InModelDType(latents);
        using var h = new Blocks.TensorChain(converted ?? latents);
        h.Advance(Backend.Affine(h.Current, 1f / 3f));
        h.Advance(Backend.Activate(h.Current, Activation.Tanh));
        h.Advance(Backend.Affine(h.Current, 3f));                     // 3·tanh(x/3)
        h.Advance(TinyLayer.Run(Backend, _decoder, h.Current));       // (B, 3, H, W) in [0, 1]
        return Backend.Affine(h.Current, 2f, -1f);                    // to diffusers' [−1, 1]
    }

    /// <summary>TAESD's latent quantisation map to [0, 1]: clamp(x / (2·latent_magnitude) + latent_shift, 0, 1).</summary>
    public Tensor ScaleLatents(Tensor latents) =>
        Backend.Affine(latents, 1f / (2f * Config.LatentMagnitude), Config.LatentShift, 0f, 1f);

    /// <summary>Inverse of <see cref="ScaleLatents"/> (without the clamp): (x − latent_shift) · 2·latent_magnitude.</summary>
    public Tensor UnscaleLatents(Tensor scaled) =>
        Backend.Affine(scaled, 2f * Config.LatentMagnitude, -Config.LatentShift * 2f * Config.LatentMagnitude);
}
