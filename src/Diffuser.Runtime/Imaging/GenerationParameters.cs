namespace Diffuser.Imaging;

/// <summary>
/// What produced an image, as AUTOMATIC1111's web UI records it in a PNG's <c>parameters</c> text ("infotext"):
/// <code>
/// a cat in a hat
/// Negative prompt: blurry
/// Steps: 25, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: stable-diffusion-v1-5
/// </code>
/// Null fields are left out. <see cref="Extra"/> holds any further "key: value" settings, written after the known
/// ones in their order (A1111 puts its version last: add <c>("Version", ...)</c> at the end).
/// </summary>
public sealed record GenerationParameters
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";
    public int? Steps { get; init; }
    /// <summary>A1111's sampler name: "Euler a", "Euler", "DPM++ 2M", "DDIM", "PLMS", "LMS", "Heun", ...</summary>
    public string? Sampler { get; init; }
    /// <summary>A1111's schedule type: "Karras", "Exponential", "Automatic", ...</summary>
    public string? ScheduleType { get; init; }
    public double? CfgScale { get; init; }
    public long? Seed { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public string? ModelHash { get; init; }
    public string? Model { get; init; }
    public string? Vae { get; init; }
    /// <summary>img2img / inpainting strength.</summary>
    public double? DenoisingStrength { get; init; }
    /// <summary>A1111's "Clip skip" (1 = last layer, 2 = penultimate); A1111 writes it only when it is above 1.</summary>
    public int? ClipSkip { get; init; }
    /// <summary>Further settings in order, written after the known ones.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extra { get; init; } = [];

    /// <summary>The A1111 infotext of these parameters (see <see cref="Infotext.Format"/>).</summary>
    public string ToInfotext() => Infotext.Format(this);

    /// <summary>Reads an A1111 infotext (see <see cref="Infotext.Parse"/>).</summary>
    public static GenerationParameters FromInfotext(string text) => Infotext.Parse(text);
}
