using Diffuser.Imaging;
using Diffuser.Tests.Infrastructure;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Diffuser.Tests.Imaging;

/// <summary>Every class of bad image or mask input, each with a message that names the file and the fix.</summary>
public sealed class ImageInputErrorTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Png(string name, int width, int height) =>
        TestImages.Write(_temp.File(name), width, height, (x, y) => new Rgb24((byte)x, (byte)y, 7), new PngEncoder());

    private static DiffuserException LoadFails(string path, ImageLoadOptions? options = null) =>
        Assert.Throws<DiffuserException>(() => ImageLoader.LoadImage(path, options));

    [Fact]
    public void MissingFile()
    {
        var e = LoadFails(_temp.File("missing.png"));
        Assert.Contains(_temp.File("missing.png"), e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void FolderInsteadOfFile()
    {
        Assert.Contains("is a folder", LoadFails(_temp.Path).Message);
    }

    [Fact]
    public void UnsupportedFormat()
    {
        var e = LoadFails(_temp.Write("notes.png", "this is text, not pixels"u8.ToArray()));
        Assert.Contains("notes.png", e.Message);
        Assert.Contains("not an image in a supported format", e.Message);
        Assert.Contains("PNG, JPEG, WebP", e.Message);
    }

    [Fact]
    public void TruncatedFile()
    {
        byte[] whole = File.ReadAllBytes(TestPaths.Image("astronaut_64.png"));
        var e = LoadFails(_temp.Write("cut.png", whole[..(whole.Length / 2)]));
        Assert.Contains("cut.png", e.Message);
        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void CorruptedPixelData()
    {
        byte[] bytes = File.ReadAllBytes(TestPaths.Image("astronaut_64.png"));
        int idat = bytes.AsSpan().IndexOf("IDAT"u8);
        for (int i = idat + 4; i < idat + 200; i++) bytes[i] ^= 0x5A;
        var e = LoadFails(_temp.Write("scrambled.png", bytes));
        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void TooLargeIsRefusedBeforeDecoding()
    {
        var e = LoadFails(Png("wide.png", 4104, 8));
        Assert.Contains("4104×8", e.Message);
        Assert.Contains("at most 4096", e.Message);
        Assert.Contains("at most 64", LoadFails(TestPaths.Image("chelsea_128.png"), new ImageLoadOptions { MaxSide = 64 }).Message);
    }

    [Fact]
    public void TooSmall()
    {
        var e = LoadFails(Png("tiny.png", 4, 4));
        Assert.Contains("4×4", e.Message);
        Assert.Contains("at least 8", e.Message);
    }

    [Fact]
    public void SizeNotAMultipleOfTheVaeFactorNamesSizesThatWork()
    {
        var e = LoadFails(TestPaths.Image("chelsea.png"));
        Assert.Contains("451×300", e.Message);
        Assert.Contains("multiples of 8", e.Message);
        Assert.Contains("448×296", e.Message);
        Assert.Contains("456×304", e.Message);
        Assert.Contains("resize", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BadTargetSize()
    {
        Assert.Contains("multiples of 8", LoadFails(TestPaths.Image("astronaut_64.png"), new ImageLoadOptions { Width = 60, Height = 64 }).Message);
        Assert.Contains("both a width and a height", LoadFails(TestPaths.Image("astronaut_64.png"), new ImageLoadOptions { Width = 64 }).Message);
        Assert.Contains("at most 4096", LoadFails(TestPaths.Image("astronaut_64.png"), new ImageLoadOptions { Width = 8192, Height = 64 }).Message);
    }

    [Fact]
    public void MaskOfAnotherSize()
    {
        var e = Assert.Throws<DiffuserException>(() => ImageLoader.LoadInpainting(TestPaths.Image("astronaut_64.png"), TestPaths.Image("chelsea_128.png")));
        Assert.Contains("128×128", e.Message);
        Assert.Contains("64×64", e.Message);
        Assert.Contains("same size", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ColourMaskIsNotGreyscale()
    {
        var e = Assert.Throws<DiffuserException>(() => ImageLoader.LoadInpainting(TestPaths.Image("astronaut_64.png"), TestPaths.Image("chelsea_64.png")));
        Assert.Contains("chelsea_64.png", e.Message);
        Assert.Contains("not greyscale", e.Message);
        Assert.Contains("white where the image is repainted", e.Message);
    }

    [Fact]
    public void MaskDrawnOnlyInAlpha()
    {
        string mask = TestImages.Write(_temp.File("alpha-mask.png"), 64, 64, (x, y) => new Rgba32(0, 0, 0, (byte)(x < 32 ? 255 : 0)), new PngEncoder());
        var e = Assert.Throws<DiffuserException>(() => ImageLoader.LoadInpainting(TestPaths.Image("astronaut_64.png"), mask));
        Assert.Contains("transparency", e.Message);
        Assert.Contains("white on black", e.Message);
    }

    [Fact]
    public void MissingMask()
    {
        var e = Assert.Throws<DiffuserException>(() => ImageLoader.LoadInpainting(TestPaths.Image("astronaut_64.png"), _temp.File("no-mask.png")));
        Assert.Contains("mask", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    public void Dispose() => _temp.Dispose();
}
