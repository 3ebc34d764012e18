using Diffuser.Imaging;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Imaging;

/// <summary>Writing generated images with their parameters chunk, atomically, and reading the chunk back.</summary>
public sealed class PngImageFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private static readonly RgbImage Image = new(24, 16, TestImages.Pattern(24, 16));
    private static readonly string Parameters = new GenerationParameters
    {
        Prompt = "a cat, in a hat", NegativePrompt = "blurry", Steps = 25, Sampler = "Euler a", CfgScale = 7.5, Seed = 42, Width = 24, Height = 16, Model = "tiny-sd",
    }.ToInfotext();

    private string[] FilesIn(string folder) => Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void PixelsAndParametersRoundTrip()
    {
        string path = PngImageFile.Save(Image, _temp.File("out.png"), Parameters);
        var loaded = ImageLoader.LoadImage(path);
        Assert.Equal((Image.Width, Image.Height), (loaded.Width, loaded.Height));
        Assert.Equal(Image.Pixels, loaded.Pixels);
        Assert.Equal(Parameters, PngImageFile.ReadParameters(path));
        Assert.Equal(Parameters, Infotext.Parse(PngImageFile.ReadParameters(path)!).ToInfotext());
    }

    [Fact]
    public void ParametersAreOneUncompressedTextChunkAsPilWritesThem()
    {
        string latin = PngImageFile.Save(Image, _temp.File("latin.png"), "café, crème\nSteps: 1, Seed: 2, Size: 24x16");
        string unicode = PngImageFile.Save(Image, _temp.File("unicode.png"), "猫 🐱\nSteps: 1, Seed: 2, Size: 24x16");
        string longText = new string('x', 5000) + "\nSteps: 1, Seed: 2, Size: 24x16";
        string large = PngImageFile.Save(Image, _temp.File("long.png"), longText);

        Assert.Equal(("tEXt", "parameters\0café, crème\nSteps: 1, Seed: 2, Size: 24x16"), Assert.Single(TestImages.Chunks(latin), c => c.Text is not null));
        var itxt = Assert.Single(TestImages.Chunks(unicode), c => c.Text is not null);
        Assert.Equal("iTXt", itxt.Type);
        Assert.EndsWith("猫 🐱\nSteps: 1, Seed: 2, Size: 24x16", itxt.Text);
        Assert.Equal("tEXt", Assert.Single(TestImages.Chunks(large), c => c.Text is not null).Type);
        Assert.Equal(longText, PngImageFile.ReadParameters(large));
        Assert.Equal("猫 🐱\nSteps: 1, Seed: 2, Size: 24x16", PngImageFile.ReadParameters(unicode));
        Assert.DoesNotContain(TestImages.Chunks(large), c => c.Type == "zTXt");
    }

    [Fact]
    public void DecodedGoldenImagesRoundTripExactly()
    {
        var golden = Golden.Open("tiny-digits", "pipeline_txt2img_ddim.safetensors");
        var bytes = golden.GetBytes(golden.GetInfo("image_uint8"));
        var images = RgbImage.FromBatch(bytes, 32, 32);
        Assert.Equal(2, images.Count);
        for (int i = 0; i < images.Count; i++)
        {
            string path = PngImageFile.Save(images[i], _temp.File($"digit{i}.png"));
            Assert.Equal(bytes.Slice(i * 32 * 32 * 3, 32 * 32 * 3).ToArray(), ImageLoader.LoadImage(path).Pixels);
            Assert.Null(PngImageFile.ReadParameters(path));
        }
    }

    [Fact]
    public void ExistingFileIsNotReplacedUnlessAsked()
    {
        string path = _temp.Write("taken.png", [1, 2, 3]);
        var e = Assert.Throws<DiffuserException>(() => PngImageFile.Save(Image, path, Parameters));
        Assert.Contains(path, e.Message);
        Assert.Contains("already exists", e.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));

        PngImageFile.Save(Image, path, Parameters, overwrite: true);
        Assert.Equal(Parameters, PngImageFile.ReadParameters(path));
        Assert.Equal(["taken.png"], FilesIn(_temp.Path));
    }

    [Fact]
    public void UnwritableOutputFolderIsAnErrorAndLeavesNothing()
    {
        string file = _temp.Write("not-a-folder", [0]);
        string path = Path.Combine(file, "sub", "image.png");
        var e = Assert.Throws<DiffuserException>(() => PngImageFile.Save(Image, path, Parameters));
        Assert.Contains("Cannot write the image", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(["not-a-folder"], FilesIn(_temp.Path));
    }

    [Fact]
    public void FolderInTheWayIsNamed()
    {
        Directory.CreateDirectory(_temp.File("image.png"));
        var e = Assert.Throws<DiffuserException>(() => PngImageFile.Save(Image, _temp.File("image.png"), overwrite: true));
        Assert.Contains("is a folder", e.Message);
    }

    [Fact]
    public void CancelledWriteLeavesNoFile()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => PngImageFile.Save(Image, _temp.File("never.png"), Parameters, cancellation: cancel.Token));
        Assert.Empty(FilesIn(_temp.Path));
    }

    [Fact]
    public void MissingFoldersAreCreated()
    {
        string path = PngImageFile.Save(Image, _temp.File(Path.Combine("a", "b", "c.png")));
        Assert.True(File.Exists(path));
        Assert.Equal(["c.png"], FilesIn(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void NumberedNamesFollowA1111()
    {
        string folder = _temp.File("outputs");
        Assert.Equal(Path.Combine(folder, "00000-42.png"), OutputFileNames.Next(folder, 42));
        Assert.Equal(Path.Combine(folder, "00000-42.png"), PngImageFile.SaveNumbered(Image, folder, 42, Parameters));
        Assert.Equal(Path.Combine(folder, "00001-43.png"), PngImageFile.SaveNumbered(Image, folder, 43));

        File.WriteAllText(Path.Combine(folder, "00017-5.png"), "");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "");
        File.WriteAllText(Path.Combine(folder, "grid-0099.png"), "");
        Assert.Equal(18, OutputFileNames.NextNumber(folder));
        Assert.Equal("00018-7.png", Path.GetFileName(PngImageFile.SaveNumbered(Image, folder, 7)));
        Assert.Equal("00123-4294967295.png", OutputFileNames.Numbered(123, 4294967295));
    }

    [Fact]
    public void ReadingParametersOfANonPngIsAnError()
    {
        string text = _temp.Write("notes.png", "hello"u8.ToArray());
        var e = Assert.Throws<DiffuserException>(() => PngImageFile.ReadParameters(text));
        Assert.Contains("not a PNG", e.Message);
        Assert.Throws<DiffuserException>(() => PngImageFile.ReadParameters(_temp.File("missing.png")));
    }

    [Fact]
    public void BatchBytesSplitIntoImages()
    {
        byte[] batch = TestImages.Pattern(4, 2 * 3);  // two 4×3 images
        var images = RgbImage.FromBatch(batch, 3, 4);
        Assert.Equal(batch[..36], images[0].Pixels);
        Assert.Equal(batch[36..], images[1].Pixels);
        Assert.Throws<DiffuserException>(() => RgbImage.FromBatch(batch.AsSpan(1), 3, 4));
        Assert.Throws<DiffuserException>(() => new RgbImage(4, 3, new byte[35]));
    }

    public void Dispose() => _temp.Dispose();
}
