using Diffuser.Imaging;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Diffuser.Tests.Imaging;

/// <summary>Init images and masks as diffusers sees them: the shared photos against the goldens' pixels, formats, RGB/L conversion, sizing.</summary>
public sealed class ImageLoaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Theory]
    [InlineData("astronaut_16.png", "tiny-sd", "vae.safetensors", "encode.image_uint8_hwc")]
    [InlineData("coffee_16.png", "tiny-sd2", "vae.safetensors", "encode.image_uint8_hwc")]
    [InlineData("chelsea_16.png", "tiny-sd", "pipeline_img2img_ddim.safetensors", "input_image_uint8_hwc")]
    [InlineData("digit7_32.png", "tiny-digits", "vae.safetensors", "encode.image_uint8_hwc")]
    [InlineData("astronaut_64.png", "taesd-arch-random", "vae.safetensors", "astronaut_64.image_uint8")]
    [InlineData("chelsea_128.png", "taesd-arch-random", "vae.safetensors", "chelsea_128.image_uint8")]
    public void SharedImagesLoadToTheGoldensPixels(string image, string model, string file, string tensor)
    {
        var golden = Golden.Open(model, file);
        var loaded = ImageLoader.LoadImage(TestPaths.Image(image), new ImageLoadOptions { SizeMultiple = 2 });
        Assert.Equal(golden.ShapeOf(tensor), new[] { loaded.Height, loaded.Width, 3 });
        Assert.Equal(golden.GetBytes(golden.GetInfo(tensor)).ToArray(), loaded.Pixels);
    }

    [Fact]
    public void PreprocessedTensorMatchesTheGoldenVaeInput()
    {
        var golden = Golden.Open("tiny-sd", "vae.safetensors");
        using var backend = TestBackend.Create();
        using var tensor = ImageLoader.LoadImage(TestPaths.Image("astronaut_16.png"), new ImageLoadOptions { SizeMultiple = 2 }).ToTensor(backend);
        Tolerance.AssertClose(tensor.ToArray(), golden.Floats("encode.image"), 0, 0, "encode.image");
    }

    [Fact]
    public void PhotosOfSizesThatAreMultiplesOfEightLoadAsTheyAre()
    {
        var coffee = ImageLoader.LoadImage(TestPaths.Image("coffee.png"));
        Assert.Equal((600, 400), (coffee.Width, coffee.Height));
        var astronaut = ImageLoader.LoadImage(TestPaths.Image("astronaut.png"));
        Assert.Equal((512, 512), (astronaut.Width, astronaut.Height));
    }

    [Fact]
    public void OddSizedPhotoIsResizedDownToMultiplesWhenAllowed()
    {
        var chelsea = ImageLoader.LoadImage(TestPaths.Image("chelsea.png"), new ImageLoadOptions { ResizeToMultiple = true });
        Assert.Equal((448, 296), (chelsea.Width, chelsea.Height));
        var sized = ImageLoader.LoadImage(TestPaths.Image("chelsea.png"), new ImageLoadOptions { Width = 64, Height = 48 });
        Assert.Equal((64, 48, 64 * 48 * 3), (sized.Width, sized.Height, sized.Pixels.Length));
    }

    [Fact]
    public void LosslessFormatsGiveTheExactPixelsAndJpegCloseOnes()
    {
        var pattern = TestImages.Pattern(16, 8);
        Rgb24 At(int x, int y) => new(pattern[(y * 16 + x) * 3], pattern[(y * 16 + x) * 3 + 1], pattern[(y * 16 + x) * 3 + 2]);
        string bmp = TestImages.Write(_temp.File("p.bmp"), 16, 8, At, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
        string webp = TestImages.Write(_temp.File("p.webp"), 16, 8, At, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
        string jpeg = TestImages.Write(_temp.File("p.jpg"), 16, 8, At, new JpegEncoder { Quality = 100 });
        Assert.Equal(pattern, ImageLoader.LoadImage(bmp).Pixels);
        Assert.Equal(pattern, ImageLoader.LoadImage(webp).Pixels);
        var fromJpeg = ImageLoader.LoadImage(jpeg).Pixels;
        Assert.Equal(pattern.Length, fromJpeg.Length);
        Assert.True(pattern.Zip(fromJpeg).Average(p => Math.Abs(p.First - p.Second)) < 40, "JPEG pixels are far from the original");
    }

    [Fact]
    public void AlphaIsDroppedNotComposited()
    {
        string path = TestImages.Write(_temp.File("rgba.png"), 8, 8, (x, y) => new Rgba32(200, 10, 30, (byte)(x * 32)), new PngEncoder());
        var image = ImageLoader.LoadImage(path);
        Assert.All(image.Pixels.Chunk(3), p => Assert.Equal([200, 10, 30], p));
    }

    [Fact]
    public void GreyscaleAndPaletteImagesExpandToRgb()
    {
        string grey = TestImages.Write(_temp.File("grey.png"), 8, 8, (x, y) => new L8((byte)(x * 30 + y)), new PngEncoder { ColorType = PngColorType.Grayscale });
        var image = ImageLoader.LoadImage(grey);
        Assert.Equal(Enumerable.Range(0, 64).SelectMany(i => Enumerable.Repeat((byte)(i % 8 * 30 + i / 8), 3)), image.Pixels);
        string palette = TestImages.Write(_temp.File("palette.png"), 8, 8, (x, y) => x < 4 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255),
            new PngEncoder { ColorType = PngColorType.Palette });
        Assert.Equal([255, 0, 0, 0, 0, 255], ImageLoader.LoadImage(palette).Pixels[9..15]);
    }

    [Fact]
    public void ExifOrientationIsApplied()
    {
        using (var image = new Image<Rgb24>(16, 8))
        {
            image.Metadata.ExifProfile = new ExifProfile();
            image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);  // rotate 90° clockwise to display
            image.SaveAsJpeg(_temp.File("rotated.jpg"));
        }
        var loaded = ImageLoader.LoadImage(_temp.File("rotated.jpg"));
        Assert.Equal((8, 16), (loaded.Width, loaded.Height));
    }

    [Fact]
    public void MaskIsPilGreyscaleBinarisedAtHalf()
    {
        byte[] levels = [0, 127, 128, 255];
        string image = TestImages.Write(_temp.File("image.png"), 8, 8, (x, y) => new Rgb24(1, 2, 3), new PngEncoder());
        // Column x has grey level levels[x % 4], written as near-grey RGB to exercise the luma weights:
        // L(128, 124, 140) = (128·19595 + 124·38470 + 140·7471 + 2¹⁵) ≫ 16 = 127 → kept; L(120, 136, 110) = 128 → repainted.
        Rgba32[] colours = [new(0, 0, 0, 255), new(128, 124, 140, 255), new(120, 136, 110, 255), new(255, 255, 255, 255)];
        string mask = TestImages.Write(_temp.File("mask.png"), 8, 8, (x, y) => colours[x % 4], new PngEncoder());
        var input = ImageLoader.LoadInpainting(image, mask);
        float[] expected = [.. Enumerable.Range(0, 64).Select(i => levels[i % 4] >= 128 ? 1f : 0f)];
        Assert.Equal(expected, input.Mask.Values);
        Assert.Equal(0.5, input.Mask.Coverage);
        using var backend = TestBackend.Create();
        using var tensor = input.Mask.ToTensor(backend);
        Assert.Equal(new TensorShape(1, 1, 8, 8), tensor.Shape);
    }

    [Fact]
    public void MaskAndImageAreResizedTogether()
    {
        string image = TestImages.Write(_temp.File("image.png"), 20, 12, (x, y) => new Rgb24(9, 9, 9), new PngEncoder());
        string mask = TestImages.Write(_temp.File("mask.png"), 20, 12, (x, y) => x < 10 ? new L8(255) : new L8(0), new PngEncoder());
        var input = ImageLoader.LoadInpainting(image, mask, new ImageLoadOptions { ResizeToMultiple = true });
        Assert.Equal((16, 8), (input.Image.Width, input.Image.Height));
        Assert.Equal((16, 8), (input.Mask.Width, input.Mask.Height));
        Assert.Equal(1f, input.Mask.Values[0]);
        Assert.Equal(0f, input.Mask.Values[15]);
    }

    public void Dispose() => _temp.Dispose();
}
