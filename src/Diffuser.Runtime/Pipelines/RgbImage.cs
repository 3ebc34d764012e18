namespace Diffuser.Pipelines;

/// <summary>An 8-bit RGB image, row-major (height, width, 3): what pipelines take as input and hand back.</summary>
public sealed class RgbImage
{
    /// <param name="pixels">Height·width·3 bytes, row by row, R G B per pixel (the array is kept, not copied).</param>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width < 1 || height < 1) throw new DiffuserException($"An image needs a positive size, got {width}×{height}.");
        if (pixels.LongLength != 3L * width * height)
            throw new DiffuserException($"An RGB image of {width}×{height} needs {3L * width * height} bytes, got {pixels.LongLength}.");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Pixels per row.</summary>
    public int Width { get; }
    /// <summary>Rows.</summary>
    public int Height { get; }
    /// <summary>(height, width, 3) bytes.</summary>
    public byte[] Pixels { get; }

    public override string ToString() => $"RGB image {Width}×{Height}";
}
