using Diffuser.Imaging;
using Diffuser.Models.Clip;
using Diffuser.Pipelines;

namespace Diffuser.Cli.Generation;

/// <summary>
/// Turns <c>generate</c>'s settings into a pipeline request, reading the init image and mask on the way. Everything
/// that can be checked without the model is checked here, before any weights are loaded; what depends on the model
/// (sizes against its VAE factor, the sampler's config) the pipeline checks.
/// </summary>
public static class GenerationRequests
{
    public static GenerationRequest Build(GenerateSettings s)
    {
        if (s.Mask is not null && s.InitImage is null) throw new DiffuserException("--mask needs --init-image, the image it applies to.");
        if (s.Strength is { } strength && s.InitImage is null)
            throw new DiffuserException($"--strength {strength} needs --init-image (image-to-image or inpainting).");
        RequireFile(s.InitLatents, "--init-latents");
        RequireFile(s.Noise, "--noise");

        var (image, mask) = LoadImages(s);
        return new GenerationRequest
        {
            Prompt = s.Prompt,
            NegativePrompt = s.NegativePrompt,
            // an init image was resized to --width/--height when given; its size is the run's
            Width = image is null ? s.Width : null,
            Height = image is null ? s.Height : null,
            Steps = s.Steps,
            GuidanceScale = (float)s.Guidance,
            Scheduler = s.Sampler,
            Eta = s.Eta,
            ClipSkip = ClipSkip.FromA1111(s.ClipSkip),
            BatchSize = s.BatchSize,
            BatchCount = s.BatchCount,
            Seed = s.Seed,
            InitImage = image,
            Mask = mask,
            Strength = image is null ? null : s.Strength ?? GenerateOptions.DefaultStrength,
            InitLatentsFile = s.InitLatents,
            NoiseFile = s.Noise,
            ReturnLatents = s.SaveLatents is not null,
        };
    }

    /// <summary>
    /// The init image (and mask), resized to --width × --height when both are given (A1111's "just resize"). Any size
    /// is read here; the pipeline then asks for multiples of the model's VAE factor, naming sizes that work.
    /// </summary>
    private static (RgbImage? Image, InpaintMask? Mask) LoadImages(GenerateSettings s)
    {
        if (s.InitImage is null) return (null, null);
        var options = new ImageLoadOptions { SizeMultiple = 1, Width = s.Width, Height = s.Height };
        if (s.Mask is null) return (ImageLoader.LoadImage(s.InitImage, options), null);
        var inpainting = ImageLoader.LoadInpainting(s.InitImage, s.Mask, options);
        return (inpainting.Image, inpainting.Mask);
    }

    private static void RequireFile(string? path, string option)
    {
        if (path is not null && !File.Exists(path)) throw new DiffuserException($"{option} {Path.GetFullPath(path)}: no such file.");
    }
}
