using Diffuser.Backends;
using Diffuser.Models.Loading;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' AutoencoderKL: encoder → quant_conv → Gaussian posterior over latents; latents → post_quant_conv →
/// decoder → image. Built entirely from its config.json.
/// </summary>
public sealed class AutoencoderKL : LoadedModel, IImageAutoencoder
{
    private readonly VaeEncoder _encoder;
    private readonly VaeDecoder _decoder;
    private readonly Conv2dLayer? _quantConv, _postQuantConv;

    private AutoencoderKL(AutoencoderKLConfig config, WeightScope w, Backend backend) : base(backend)
    {
        Config = config;
        int latent = config.LatentChannels;
        _encoder = new VaeEncoder(w.Scope("encoder"), config);
        if (config.UseQuantConv) _quantConv = new Conv2dLayer(w.Scope("quant_conv"), 2 * latent, 2 * latent, 1);
        if (config.UsePostQuantConv) _postQuantConv = new Conv2dLayer(w.Scope("post_quant_conv"), latent, latent, 1);
        _decoder = new VaeDecoder(w.Scope("decoder"), config);
    }

    public AutoencoderKLConfig Config { get; }
    public int LatentChannels => Config.LatentChannels;
    public int ScaleFactor => Config.ScaleFactor;
    public float ScalingFactor => Config.ScalingFactor;
    public float ShiftFactor => Config.ShiftFactor ?? 0f;

    /// <summary>Loads <c>&lt;folder&gt;/config.json</c> and its safetensors weights (F16 files are converted to F32).</summary>
    /// <param name="folder">The component folder, e.g. <c>&lt;pipeline&gt;/vae</c>.</param>
    /// <param name="dtype">See <see cref="FromWeights"/>.</param>
    public static AutoencoderKL Load(string folder, Backend backend, DType dtype = DType.F32, bool honourForceUpcast = true) =>
        LoadFolder(folder, path => AutoencoderKLConfig.Load(path).Validate(), (config, source) => FromWeights(config, source, backend, dtype, honourForceUpcast));

    /// <summary>A pipeline folder's vae: <c>&lt;modelFolder&gt;/vae</c>.</summary>
    public static AutoencoderKL FromModelFolder(string modelFolder, Backend backend, string subfolder = "vae", DType dtype = DType.F32,
        bool honourForceUpcast = true) => Load(Path.Combine(modelFolder, subfolder), backend, dtype, honourForceUpcast);

    /// <param name="dtype">
    /// The pipeline's dtype. fp16 stores this VAE in fp16 unless its config has <c>force_upcast</c> (true by default:
    /// the SD VAE can overflow fp16 at high resolutions): then it stays fp32, as diffusers' SDXL-style pipelines upcast it.
    /// </param>
    /// <param name="honourForceUpcast">False: store it as <paramref name="dtype"/> whatever the config says (diffusers'
    /// SD 1.x/2.x pipelines decode in fp16 this way).</param>
    public static AutoencoderKL FromWeights(AutoencoderKLConfig config, IWeightSource source, Backend backend, DType dtype = DType.F32,
        bool honourForceUpcast = true)
    {
        config.Validate();
        return Build(source, backend, config.ForceUpcast && honourForceUpcast ? DType.F32 : dtype, w => new AutoencoderKL(config, w, backend));
    }

    /// <summary>Plan mode: matches the model's tensors against a source without loading data.</summary>
    public static WeightLoadReport Plan(AutoencoderKLConfig config, IWeightSource source)
    {
        config.Validate();
        return Plan(source, (w, meta) => _ = new AutoencoderKL(config, w, meta));
    }

    /// <summary>
    /// Image (B, in_channels, H, W) in [−1, 1], any dtype → posterior over latents (B, latent_channels, H/f, W/f),
    /// always fp32 (the latents the schedulers work on).
    /// </summary>
    /// <param name="hook">Sees encoder_out and moments.</param>
    public LatentDistribution Encode(Tensor image, ForwardHook? hook = null)
    {
        if (image.Rank != 4 || image.Shape[1] != Config.InChannels)
            throw new DiffuserException($"VAE encode: image must be (B, {Config.InChannels}, H, W), got {image.Shape}.");
        using var converted = InModelDType(image);
        using var encoded = _encoder.Forward(Backend, converted ?? image);     // (B, 2·C_lat, h, w)
        hook?.Invoke("encoder_out", encoded);
        using var moments = _quantConv?.Forward(Backend, encoded);
        hook?.Invoke("moments", moments ?? encoded);
        using var moments32 = DType == DType.F32 ? null : Backend.Convert(moments ?? encoded, DType.F32);
        return new LatentDistribution(Backend, moments32 ?? moments ?? encoded);
    }

    public Tensor EncodeLatents(Tensor image, Tensor? noise = null)
    {
        using var posterior = Encode(image);
        return noise is null ? posterior.Mode() : posterior.Sample(noise);
    }

    /// <summary>Raw latents (B, latent_channels, h, w), any dtype → image (B, out_channels, h·f, w·f) in the model's dtype.</summary>
    /// <param name="hook">Sees post_quant_conv and the decoder's modules (decoder.conv_in, decoder.mid_block,
    /// decoder.up_blocks.i, decoder.conv_act = silu(conv_norm_out)).</param>
    public Tensor Decode(Tensor latents, ForwardHook? hook = null)
    {
        if (latents.Rank != 4 || latents.Shape[1] != Config.LatentChannels)
            throw new DiffuserException($"VAE decode: latents must be (B, {Config.LatentChannels}, h, w), got {latents.Shape}.");
        using var converted = InModelDType(latents);
        using var z = _postQuantConv?.Forward(Backend, converted ?? latents);
        if (z is not null) hook?.Invoke("post_quant_conv", z);
        return _decoder.Forward(Backend, z ?? converted ?? latents, hook);
    }
}
