using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;

namespace Diffuser.Pipelines;

public sealed partial class StableDiffusionPipeline
{
    /// <summary>
    /// Loads a single-file checkpoint onto <paramref name="backend"/>: its weights, with the model configs, tokenizer
    /// and scheduler config of <paramref name="configFolder"/>, a diffusers pipeline folder of the same architecture
    /// (<see cref="SingleFileCheckpoint.DefaultConfigRepository"/>; its own weights, if any, are not read).
    /// </summary>
    public static StableDiffusionPipeline LoadSingleFile(SingleFileCheckpoint checkpoint, string configFolder, Backend backend,
        PipelineOptions? options = null)
    {
        if (!Directory.Exists(configFolder)) throw new DiffuserException($"Config folder not found: {Path.GetFullPath(configFolder)}");
        string ConfigOf(string component) => Path.Combine(configFolder, component, "config.json");
        var unetConfig = UNet2DConditionConfig.Load(ConfigOf("unet")).Validate();
        if (unetConfig.InChannels != checkpoint.UnetInChannels)
            throw new DiffuserException($"{checkpoint.Path}: its UNet takes {checkpoint.UnetInChannels} latent channels, the UNet of " +
                $"{configFolder} {unetConfig.InChannels}: pass the configs of a model like it ({checkpoint.DefaultConfigRepository}).");
        return Assemble(configFolder, backend, options ?? new PipelineOptions(),
            dtype =>
            {
                var config = ClipTextConfig.Load(ConfigOf("text_encoder"));
                using var source = checkpoint.TextEncoder(config);
                return ClipTextModel.Create(config, source, backend, dtype);
            },
            dtype =>
            {
                using var source = checkpoint.Unet(unetConfig);
                return UNet2DConditionModel.FromWeights(unetConfig, source, backend, dtype);
            },
            dtype =>
            {
                var config = AutoencoderKLConfig.Load(ConfigOf("vae")).Validate();
                using var source = checkpoint.Vae(config);
                return AutoencoderKL.FromWeights(config, source, backend, dtype, honourForceUpcast: false);
            });
    }
}
