using Diffuser.Imaging;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Tests.Cli.GenerateRun;

namespace Diffuser.Tests.Cli;

/// <summary>
/// Every bad input to <c>diffuser generate</c> is one specific red line with exit code 1, and leaves the folder it
/// would have written to exactly as it was; so does Ctrl+C in the middle of a run (exit code 130).
/// </summary>
public sealed class GenerateErrorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _out;

    public GenerateErrorTests()
    {
        _out = _dir.File("out");
        Directory.CreateDirectory(_out);
        _dir.Write(Path.Combine("out", "keep.txt"), [42]);
    }

    /// <summary>Runs <paramref name="args"/>, expects the one-line error with <paramref name="fragments"/>, and no change on disk.</summary>
    private string Fails(string[] args, params string[] fragments)
    {
        var before = Snapshot(_dir.Path);
        string line = AssertOneLineError(CliRunner.Run(args), fragments);
        Assert.Equal(before, Snapshot(_dir.Path));
        return line;
    }

    [Fact]
    public void MissingModelFolder()
    {
        string missing = _dir.File("no-such-model");
        Fails(["generate", "--model", missing, "-p", "x", "--device", "cpu", "-o", _out], "Model not found", missing);
    }

    [Fact]
    public void MissingComponent()
    {
        string model = _dir.File("no-vae");
        Directory.CreateDirectory(model);
        foreach (string entry in Directory.EnumerateFileSystemEntries(TinySd).Where(e => Path.GetFileName(e) != "vae"))
        {
            string link = Path.Combine(model, Path.GetFileName(entry));
            if (Directory.Exists(entry)) Directory.CreateSymbolicLink(link, entry);
            else File.CreateSymbolicLink(link, entry);
        }
        Fails(["generate", "--model", model, "-p", "x", "--device", "cpu", "-o", _out], Path.Combine(model, "vae"));
    }

    [Fact]
    public void SizeNotAMultipleOfTheVaeFactor() =>
        Fails(TinySdArgs(_out, "--width", "17"), "Width 17", "multiple of the VAE scale factor 2", "16 or 18");

    [Fact]
    public void MaskOfAnotherSize()
    {
        string image = TestPaths.Image("chelsea_16.png");
        string mask = PngImageFile.Save(new RgbImage(8, 8, new byte[8 * 8 * 3]), _dir.File("small-mask.png"));
        Fails(TinySdArgs(_out, "--init-image", image, "--mask", mask), mask, "8×8", "16×16", "same size");
    }

    [Fact]
    public void MaskWithoutInitImage() =>
        Fails(TinySdArgs(_out, "--mask", TestPaths.Image("chelsea_16.png")), "--mask needs --init-image");

    [Fact]
    public void UnknownSchedulerListsTheNames()
    {
        string line = Fails(TinySdArgs(_out, "--sampler", "euler_b"), "Unknown scheduler \"euler_b\"", "Valid names:");
        foreach (string name in Diffuser.Schedulers.SchedulerRegistry.Names) Assert.Contains(name, line);
    }

    [Fact]
    public void UnreadableInitImage()
    {
        string notAnImage = _dir.Write("notes.png", "not a picture"u8.ToArray());
        Fails(TinySdArgs(_out, "--init-image", notAnImage), notAnImage, "not an image in a supported format");
    }

    [Fact]
    public void MissingInitImage()
    {
        string missing = _dir.File("missing.png");
        Fails(TinySdArgs(_out, "--init-image", missing), missing, "does not exist");
    }

    [Fact]
    public void OutputUnderAFile()
    {
        string file = _dir.Write("plain-file", [1]);
        string target = Path.Combine(file, "images", "out.png");
        Fails(TinySdArgs(target), target, $"{file} is a file, not a folder");
    }

    [Fact]
    public void ExistingOutputWithoutOverwrite()
    {
        string existing = _dir.Write(Path.Combine("out", "taken.png"), [1, 2, 3]);
        Fails(TinySdArgs(existing), existing, "already exists", "--overwrite");
    }

    [Fact]
    public void ExistingLatentsFileWithoutOverwrite()
    {
        string existing = _dir.Write(Path.Combine("out", "latents.safetensors"), [1, 2, 3]);
        Fails(TinySdArgs(_out, "--save-latents", existing), existing, "already exists");
    }

    [Fact]
    public void SeveralImagesIntoOneFile() =>
        Fails(TinySdArgs(Path.Combine(_out, "one.png"), "--batch-count", "2"), "makes 2 images", "give a folder");

    [Fact]
    public void MissingReplayFile()
    {
        string missing = _dir.File("noise.safetensors");
        Fails(TinySdArgs(_out, "--noise", missing), "--noise", missing, "no such file");
    }

    [Fact]
    public void CtrlCInTheMiddleLeavesNoFile()
    {
        var before = Snapshot(_dir.Path);
        var result = CliRunner.RunCancelledAt("step 1/20", TinySdArgs(_out, "--steps", "20", "--sampler", "ddim", "--save-latents", Path.Combine(_out, "l.safetensors")));
        Assert.Equal(130, result.ExitCode);
        Assert.Equal("error: cancelled", result.Error.Trim());
        Assert.DoesNotContain("step 20/20", result.Output);
        Assert.DoesNotContain("saved", result.Output);
        Assert.Equal(before, Snapshot(_dir.Path));
    }

    public void Dispose() => _dir.Dispose();
}
