using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Imaging;

/// <summary>
/// Where inpainting repaints: one value in [0, 1] per image pixel, row-major (height, width); 1 = repaint, 0 = keep.
/// Pipelines binarise it at 0.5 as diffusers' mask processor does (values ≥ 0.5 repaint).
/// </summary>
public sealed class InpaintMask
{
    /// <param name="values">Height·width values in [0, 1] (the array is kept, not copied).</param>
    public InpaintMask(int width, int height, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (width < 1 || height < 1) throw new DiffuserException($"A mask needs a positive size, got {width}×{height}.");
        if (values.LongLength != (long)width * height)
            throw new DiffuserException($"A mask of {width}×{height} needs {(long)width * height} values, got {values.LongLength}.");
        int bad = Array.FindIndex(values, v => !(v >= 0f && v <= 1f));
        if (bad >= 0) throw new DiffuserException($"Mask value {values[bad]} at pixel ({bad % width}, {bad / width}) is outside [0, 1].");
        Width = width;
        Height = height;
        Values = values;
    }

    /// <summary>Pixels per row (the init image's width).</summary>
    public int Width { get; }
    /// <summary>Rows (the init image's height).</summary>
    public int Height { get; }
    /// <summary>(height, width) values in [0, 1].</summary>
    public float[] Values { get; }

    /// <summary>The fraction of pixels to repaint (values binarised at 0.5).</summary>
    public double Coverage => Values.Average(v => v >= 0.5f ? 1.0 : 0.0);

    /// <summary>The mask as a (1, 1, H, W) tensor.</summary>
    public Tensor ToTensor(Backend backend) => backend.FromHost(Values, new TensorShape(1, 1, Height, Width));

    /// <summary>Whether pixel (x, y) is repainted: its value binarised at 0.5.</summary>
    public bool Repaints(int x, int y) => Values[y * Width + x] >= 0.5f;

    /// <summary>A mask of one value everywhere (1 repaints the whole image, 0 keeps it).</summary>
    public static InpaintMask Uniform(int width, int height, float value)
    {
        var values = new float[(long)width * height];
        Array.Fill(values, value);
        return new InpaintMask(width, height, values);
    }

    /// <summary>
    /// A mask from a picture (white = repaint): its luminance as PIL's <c>convert("L")</c> computes it, over 255,
    /// which is what diffusers reads from a mask image.
    /// </summary>
    public static InpaintMask FromImage(RgbImage image)
    {
        var values = new float[(long)image.Width * image.Height];
        var p = image.Pixels;
        for (long i = 0; i < values.LongLength; i++)
        {
            // ITU-R 601-2 luma in PIL's 16-bit fixed point: (19595·R + 38470·G + 7471·B + 2^15) >> 16.
            int luma = (19595 * p[3 * i] + 38470 * p[3 * i + 1] + 7471 * p[3 * i + 2] + 0x8000) >> 16;
            values[i] = luma / 255f;
        }
        return new InpaintMask(image.Width, image.Height, values);
    }
}
