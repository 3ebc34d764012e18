using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Diffuser.Imaging;

namespace Diffuser.Tests.Pipelines;

/// <summary>PNG test inputs as <see cref="RgbImage"/>s (ImageSharp decodes; the library itself reads no image files here).</summary>
internal static class TestImages
{
    public static RgbImage Load(string path)
    {
        using var image = Image.Load<Rgb24>(path);
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return new RgbImage(image.Width, image.Height, pixels);
    }
}
