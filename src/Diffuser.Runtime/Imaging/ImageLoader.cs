using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Diffuser.Imaging;

/// <summary>An inpainting job's inputs: the image and its mask, the same size.</summary>
public sealed record InpaintingInput(RgbImage Image, InpaintMask Mask);

/// <summary>
/// Loads init images and inpainting masks from files (PNG, JPEG, WebP, BMP, GIF, TIFF, ...) the way diffusers'
/// <c>load_image</c> + <c>VaeImageProcessor</c> see them, with every bad input a <see cref="DiffuserException"/>:
/// <list type="bullet">
/// <item>images become RGB as PIL's <c>convert("RGB")</c> does: alpha is dropped (not composited), palettes and
/// greyscale expanded;</item>
/// <item>masks become greyscale as PIL's <c>convert("L")</c> does (L = (19595 R + 38470 G + 7471 B + 2¹⁵) ≫ 16,
/// alpha dropped), then /255 and binarised at 0.5 as the inpainting mask processor does. A mask must be the
/// image's size and greyscale: colour, or a shape held only in the alpha channel (which PIL would silently drop),
/// is refused;</item>
/// <item>sizes are checked against <see cref="ImageLoadOptions"/>: limits, and multiples of the VAE factor, with
/// the sizes that would work named, or resized (Lanczos) when asked.</item>
/// </list>
/// </summary>
public static class ImageLoader
{
    /// <summary>The largest difference between a mask pixel's R, G and B still counted as grey (JPEG noise).</summary>
    private const int GreyTolerance = 32;

    /// <summary>Loads an init image (img2img) as RGB, at the size the options ask for.</summary>
    public static RgbImage LoadImage(string path, ImageLoadOptions? options = null)
    {
        options ??= new ImageLoadOptions();
        options.Validate();
        using var image = ImageDecoding.Decode(path, "image", options);
        var (width, height) = TargetSize(Path.GetFullPath(path), image.Width, image.Height, options);
        return new RgbImage(width, height, Resize<Rgb24>(DropAlpha(image), image.Width, image.Height, width, height));
    }

    /// <summary>Loads an image and its mask; both are resized alike when the options ask for it.</summary>
    public static InpaintingInput LoadInpainting(string imagePath, string maskPath, ImageLoadOptions? options = null)
    {
        options ??= new ImageLoadOptions();
        options.Validate();
        using var image = ImageDecoding.Decode(imagePath, "image", options);
        using var mask = ImageDecoding.Decode(maskPath, "mask", options);
        string imageFile = Path.GetFullPath(imagePath), maskFile = Path.GetFullPath(maskPath);
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new DiffuserException($"The mask {maskFile} is {mask.Width}×{mask.Height} but the image {imageFile} is " +
                $"{image.Width}×{image.Height}; a mask must be the same size as its image.");
        var (width, height) = TargetSize(imageFile, image.Width, image.Height, options);
        var rgb = Resize<Rgb24>(DropAlpha(image), image.Width, image.Height, width, height);
        var grey = Resize<L8>(ToGrey(mask, maskFile), mask.Width, mask.Height, width, height);
        var values = Array.ConvertAll(grey, v => v / 255f >= 0.5f ? 1f : 0f);
        return new InpaintingInput(new RgbImage(width, height, rgb), new InpaintMask(width, height, values));
    }

    /// <summary>
    /// The size an image of <paramref name="width"/>×<paramref name="height"/> is used at: the options' explicit
    /// size; else its own size when both sides are multiples of the VAE factor; else, when resizing is allowed,
    /// both sides rounded down to multiples (diffusers' rule); otherwise an error naming the sizes that would work.
    /// </summary>
    public static (int Width, int Height) TargetSize(string what, int width, int height, ImageLoadOptions options)
    {
        int m = options.SizeMultiple;
        if (options.Width is { } w && options.Height is { } h)
        {
            if (w % m != 0 || h % m != 0)
                throw new DiffuserException($"Cannot resize {what} to {w}×{h}: both sides must be multiples of {m}.");
            ImageDecoding.CheckSides(what, "image", w, h, options);
            return (w, h);
        }
        if (width % m == 0 && height % m == 0) return (width, height);
        int downW = width - width % m, downH = height - height % m;
        int upW = downW + (width % m == 0 ? 0 : m), upH = downH + (height % m == 0 ? 0 : m);
        if (options.ResizeToMultiple && Math.Min(downW, downH) >= options.MinSide) return (downW, downH);
        string down = Math.Min(downW, downH) >= options.MinSide ? $"{downW}×{downH} (rounded down, as diffusers resizes) or " : "";
        throw new DiffuserException($"The image {what} is {width}×{height}, but the VAE needs both sides to be multiples of {m}. " +
            $"Sizes that work: {down}{upW}×{upH} (rounded up). Resize or crop the image, or let it be resized to a multiple of {m}.");
    }

    /// <summary>PIL's RGBA → RGB: the colour channels as they are, alpha dropped.</summary>
    private static byte[] DropAlpha(Image<Rgba32> image)
    {
        var pixels = Pixels(image);
        var rgb = new byte[pixels.Length * 3];
        for (int i = 0; i < pixels.Length; i++)
        {
            rgb[3 * i] = pixels[i].R;
            rgb[3 * i + 1] = pixels[i].G;
            rgb[3 * i + 2] = pixels[i].B;
        }
        return rgb;
    }

    /// <summary>PIL's <c>convert("L")</c> (ITU-R 601-2 luma in 16-bit fixed point), after checking that it loses nothing.</summary>
    private static byte[] ToGrey(Image<Rgba32> mask, string file)
    {
        var pixels = Pixels(mask);
        var grey = new byte[pixels.Length];
        bool translucent = false;
        for (int i = 0; i < pixels.Length; i++)
        {
            var p = pixels[i];
            int spread = Math.Max(p.R, Math.Max(p.G, p.B)) - Math.Min(p.R, Math.Min(p.G, p.B));
            if (spread > GreyTolerance)
                throw new DiffuserException($"The mask {file} is not greyscale: pixel ({i % mask.Width}, {i / mask.Width}) is " +
                    $"RGB({p.R}, {p.G}, {p.B}). A mask is white where the image is repainted and black where it is kept.");
            grey[i] = (byte)((p.R * 19595 + p.G * 38470 + p.B * 7471 + 0x8000) >> 16);
            translucent |= p.A != 255;
        }
        if (translucent && grey.All(v => v == grey[0]))
            throw new DiffuserException($"The mask {file} draws its shape only with transparency, and its colours are all the same " +
                "grey; masks are read from their grey levels (alpha is ignored, as in diffusers). Save it as white on black.");
        return grey;
    }

    private static Rgba32[] Pixels(Image<Rgba32> image)
    {
        var pixels = new Rgba32[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    /// <summary>Lanczos resampling of interleaved 8-bit pixels (Rgb24 or L8); the same array when the size does not change.</summary>
    private static byte[] Resize<TPixel>(byte[] pixels, int width, int height, int toWidth, int toHeight)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        if (width == toWidth && height == toHeight) return pixels;
        using var image = Image.LoadPixelData<TPixel>(pixels, width, height);
        image.Mutate(x => x.Resize(toWidth, toHeight, KnownResamplers.Lanczos3));
        var result = new byte[toWidth * toHeight * Unsafe.SizeOf<TPixel>()];
        image.CopyPixelDataTo(MemoryMarshal.Cast<byte, TPixel>(result.AsSpan()));
        return result;
    }
}
