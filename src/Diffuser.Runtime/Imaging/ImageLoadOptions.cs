namespace Diffuser.Imaging;

/// <summary>How <see cref="ImageLoader"/> checks and sizes an init image (and its mask).</summary>
public sealed record ImageLoadOptions
{
    /// <summary>Both sides must be multiples of this: the VAE's downscaling factor (8 for Stable Diffusion).</summary>
    public int SizeMultiple { get; init; } = 8;

    /// <summary>
    /// When the image's sides are not multiples of <see cref="SizeMultiple"/>: false (default) makes it an error that
    /// names the sizes that would work; true rounds both sides down and resizes (Lanczos), as diffusers does.
    /// </summary>
    public bool ResizeToMultiple { get; init; }

    /// <summary>A size to resize the image to (both or neither); null keeps the file's size.</summary>
    public int? Width { get; init; }
    /// <inheritdoc cref="Width"/>
    public int? Height { get; init; }

    /// <summary>The smallest side accepted, in pixels.</summary>
    public int MinSide { get; init; } = 8;
    /// <summary>The largest side accepted, in pixels (checked before the file is decoded).</summary>
    public int MaxSide { get; init; } = 4096;

    internal void Validate()
    {
        if (SizeMultiple < 1 || MinSide < 1 || MaxSide < MinSide)
            throw new DiffuserException($"Image options: size multiple {SizeMultiple}, sides {MinSide}..{MaxSide} px are not a valid setting.");
        if (Width.HasValue != Height.HasValue)
            throw new DiffuserException($"Give both a width and a height to resize an image to (got {Width?.ToString() ?? "no width"} and {Height?.ToString() ?? "no height"}).");
    }
}
