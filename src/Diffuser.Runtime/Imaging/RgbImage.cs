using Diffuser.Backends;
using Diffuser.Models.Vae;
using Diffuser.Tensors;

namespace Diffuser.Imaging;

/// <summary>
/// An 8-bit RGB image, row-major (H, W, 3): what <see cref="ImageLoader"/> produces from a file, what
/// <see cref="VaeImageProcessor.Preprocess"/> turns into the VAE's input, and what <see cref="PngImageFile"/> writes.
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width < 1 || height < 1 || pixels.LongLength != 3L * width * height)
            throw new DiffuserException($"{pixels.LongLength} bytes are not a {width}×{height} RGB image ({3L * Math.Max(width, 0) * Math.Max(height, 0)} bytes).");
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>R, G, B bytes per pixel, row by row.</summary>
    public byte[] Pixels { get; }

    /// <summary>The VAE encoder's input: (1, 3, H, W) in [−1, 1] (diffusers' VaeImageProcessor normalisation).</summary>
    public Tensor ToTensor(Backend backend) => VaeImageProcessor.Preprocess(backend, Pixels, Height, Width);

    /// <summary>
    /// The images of a decoded batch: <paramref name="nhwc"/> is (B, H, W, 3) bytes as
    /// <see cref="VaeImageProcessor.ToBytesNhwc"/> returns them.
    /// </summary>
    public static IReadOnlyList<RgbImage> FromBatch(ReadOnlySpan<byte> nhwc, int height, int width)
    {
        long size = 3L * height * width;
        if (height < 1 || width < 1 || nhwc.Length == 0 || nhwc.Length % size != 0)
            throw new DiffuserException($"{nhwc.Length} bytes are not a batch of {width}×{height} RGB images.");
        var images = new RgbImage[nhwc.Length / size];
        for (int i = 0; i < images.Length; i++)
            images[i] = new RgbImage(width, height, nhwc.Slice((int)(i * size), (int)size).ToArray());
        return images;
    }
}
