using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Imaging;

/// <summary>
/// An inpainting mask as diffusers' mask processor makes it: one value per pixel, row-major, 1 where the image is
/// repainted (white in the mask file) and 0 where it is kept (black): greyscale /255, then binarised at 0.5.
/// </summary>
public sealed class ImageMask
{
    public ImageMask(int width, int height, float[] values)
    {
        if (width < 1 || height < 1 || values.LongLength != (long)width * height)
            throw new DiffuserException($"{values.LongLength} values are not a {width}×{height} mask.");
        Width = width;
        Height = height;
        Values = values;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>0 or 1 per pixel, row by row.</summary>
    public float[] Values { get; }

    /// <summary>The fraction of pixels to repaint (0 to 1).</summary>
    public double Coverage => Values.Average(v => (double)v);

    /// <summary>The mask as the inpainting pipeline takes it: (1, 1, H, W).</summary>
    public Tensor ToTensor(Backend backend) => backend.FromHost(Values, new TensorShape(1, 1, Height, Width));
}
