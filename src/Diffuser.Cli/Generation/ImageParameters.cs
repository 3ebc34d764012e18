using System.Globalization;
using Diffuser.Imaging;
using Diffuser.Pipelines;

namespace Diffuser.Cli.Generation;

/// <summary>The A1111 <c>parameters</c> text each generated PNG carries.</summary>
public static class ImageParameters
{
    /// <param name="sampler">The scheduler the run used, by A1111's names (<see cref="A1111SamplerNames"/>).</param>
    /// <param name="model">The model's display name; <paramref name="vae"/> the TAESD's, when one replaced the VAE.</param>
    public static GenerationParameters For(GenerateSettings settings, GenerationRequest request, GeneratedImage image,
        (string Sampler, string? ScheduleType) sampler, string model, string? vae)
    {
        var extra = new List<KeyValuePair<string, string>>();
        if (request.Eta != 0) extra.Add(new("Eta", request.Eta.ToString("R", CultureInfo.InvariantCulture)));
        // replayed noise, not the seed, made these images: say so
        if (request.InitLatentsFile is { } latents) extra.Add(new("Init latents", Path.GetFileName(latents)));
        if (request.NoiseFile is { } noise) extra.Add(new("Noise", Path.GetFileName(noise)));
        extra.Add(new("Version", $"diffuser {DiffuserCli.Version}"));
        return new GenerationParameters
        {
            Prompt = settings.Prompt,
            NegativePrompt = settings.NegativePrompt,
            Steps = request.Steps,
            Sampler = sampler.Sampler,
            ScheduleType = sampler.ScheduleType,
            CfgScale = settings.Guidance,
            Seed = (long)image.Seed,
            Width = image.Image.Width,
            Height = image.Image.Height,
            Model = model,
            Vae = vae,
            DenoisingStrength = request.Strength,
            ClipSkip = settings.ClipSkip,
            Extra = extra,
        };
    }
}
