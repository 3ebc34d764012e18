namespace Diffuser.Models.Clip;

/// <summary>
/// "CLIP skip": how many of the text encoder's last layers the prompt embeddings leave out; the hidden state before
/// them goes through the final layer norm. Two conventions count it differently, so build it from the one you use:
/// <list type="bullet">
/// <item>AUTOMATIC1111 / ComfyUI "Clip skip" N: N = 1 is the last layer (no skip), N = 2 the penultimate one
/// (the common anime-model setting): <see cref="FromA1111"/>(N) = N − 1 layers skipped.</item>
/// <item>diffusers' <c>clip_skip</c> argument N: N layers skipped, so diffusers' 1 = A1111's 2:
/// <see cref="FromDiffusers"/>(N). The goldens' <c>clip_skip_1</c> tensor is diffusers' 1.</item>
/// </list>
/// The default value skips nothing (the model's <c>last_hidden_state</c>).
/// </summary>
public readonly record struct ClipSkip
{
    private ClipSkip(int skippedLayers)
    {
        if (skippedLayers < 0) throw new DiffuserException($"CLIP skip cannot leave out {skippedLayers} layers.");
        SkippedLayers = skippedLayers;
    }

    /// <summary>Layers left out at the end of the encoder: 0 = none.</summary>
    public int SkippedLayers { get; }

    /// <summary>No layer skipped: the final layer's output.</summary>
    public static ClipSkip None => default;

    /// <summary>A1111's "Clip skip" setting (1 = last layer, 2 = penultimate, ...).</summary>
    public static ClipSkip FromA1111(int clipSkip) => clipSkip >= 1 ? new(clipSkip - 1)
        : throw new DiffuserException($"A1111 Clip skip counts from 1 (1 = last layer); got {clipSkip}.");

    /// <summary>diffusers' <c>clip_skip</c> argument (0 or null = last layer, 1 = penultimate, ...).</summary>
    public static ClipSkip FromDiffusers(int clipSkip) => new(clipSkip);

    public override string ToString() => $"skip {SkippedLayers} layer(s) (A1111 Clip skip {SkippedLayers + 1}, diffusers clip_skip {SkippedLayers})";
}
