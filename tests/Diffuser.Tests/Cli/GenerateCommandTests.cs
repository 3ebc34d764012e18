using System.Text.Json;
using System.Text.RegularExpressions;
using Diffuser.Cli;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Pipelines;
using static Diffuser.Tests.Cli.GenerateRun;

namespace Diffuser.Tests.Cli;

/// <summary><c>diffuser generate</c> end to end on the tiny models: files, names, A1111 parameters, progress, JSON.</summary>
public sealed partial class GenerateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void PngCarriesEveryParameterInA1111Form()
    {
        string png = _dir.File("astronaut.png");
        var result = Succeeds("generate", "--model", TinySd, "-p", "a cat, in a hat", "-n", "blurry", "--steps", "4", "--cfg-scale", "6.5",
            "--sampler", "DPM++ 2M Karras", "--clip-skip", "2", "-W", "24", "-H", "16", "--seed", "1234", "--device", "cpu", "-o", png);

        var p = Parameters(png);
        Assert.Equal("a cat, in a hat", p.Prompt);
        Assert.Equal("blurry", p.NegativePrompt);
        Assert.Equal(4, p.Steps);
        Assert.Equal("DPM++ 2M", p.Sampler);
        Assert.Equal("Karras", p.ScheduleType);
        Assert.Equal(6.5, p.CfgScale);
        Assert.Equal(1234, p.Seed);
        Assert.Equal((24, 16), (p.Width, p.Height));
        Assert.Equal("tiny-sd", p.Model);
        Assert.Equal(2, p.ClipSkip);
        Assert.Null(p.DenoisingStrength);
        Assert.Null(p.Vae);
        Assert.Equal([new("Version", $"diffuser {DiffuserCli.Version}")], p.Extra);
        var image = Pixels(png);
        Assert.Equal((24, 16), (image.Width, image.Height));

        Assert.Contains("step 4/4", result.Output);
        Assert.Contains($"saved {png} (seed 1234)", result.Output);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public void DefaultsAreTheModelsSchedulerAndSizeInANumberedFile()
    {
        string folder = _dir.File("out");
        Succeeds("generate", "--model", TinySd, "-p", "a horse", "--steps", "2", "--seed", "77", "--device", "cpu", "-o", folder);

        string png = Assert.Single(Directory.GetFiles(folder));
        Assert.Equal("00000-77.png", Path.GetFileName(png));
        var p = Parameters(png);
        Assert.Equal("PLMS", p.Sampler);               // tiny-sd's scheduler config is SD 1.5's PNDM with skip_prk_steps
        Assert.Null(p.ScheduleType);
        Assert.Equal(7.5, p.CfgScale);
        Assert.Equal((16, 16), (p.Width, p.Height));   // unet sample_size 8 × VAE factor 2
        Assert.Null(p.ClipSkip);
    }

    [Fact]
    public void HalfPrecisionDrawsTheSameImageWithinTwoLevels()
    {
        string png32 = _dir.File("fp32.png"), png16 = _dir.File("fp16.png");
        string[] Args(string dtype, string png) => ["generate", "--model", TinySd, "-p", "a horse", "--steps", "3", "--seed", "5", "--device", "cpu",
            "--dtype", dtype, "-o", png];
        Succeeds(Args("fp32", png32));
        var result = Succeeds(Args("fp16", png16));
        Assert.Contains("fp16", result.Output);
        var (a, b) = (Pixels(png32).Pixels, Pixels(png16).Pixels);
        Assert.Equal(a.Length, b.Length);
        Assert.All(a.Zip(b), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 2));
    }

    /// <summary>The README's first command, as written there (model and output moved to absolute paths, a seed added).</summary>
    [Fact]
    public void ReadmeFirstCommandDrawsTheDigit()
    {
        var args = ReadmeFirstCommand();
        Assert.Equal("generate", args[0]);
        string Value(string option) => args[args.IndexOf(option) + 1];
        Assert.Equal("models/tiny-digits", Value("--model"));
        args[args.IndexOf("--model") + 1] = TinyDigits;
        string png = _dir.File(Value("--output"));
        args[args.IndexOf("--output") + 1] = png;

        Succeeds([.. args, "--seed", "42", "--device", "cpu"]);

        var p = Parameters(png);
        Assert.Equal(Value("--prompt"), p.Prompt);
        Assert.Equal(int.Parse(Value("--steps")), p.Steps);
        Assert.Equal(double.Parse(Value("--guidance")), p.CfgScale);
        Assert.Equal(Value("--sampler").ToUpperInvariant(), p.Sampler);
        Assert.Equal((42L, 32, 32), (p.Seed!.Value, p.Width!.Value, p.Height!.Value));
        Assert.Equal("tiny-digits", p.Model);
        var digit = Regex.Match(Value("--prompt"), "[0-9]").Value;
        var centroids = DigitCentroids.Load(Path.Combine(TinyDigits, "eval", "digit_centroids_8x8.json"));
        Assert.Equal(int.Parse(digit), centroids.Classify(Pixels(png)));
    }

    [Fact]
    public void BatchesGetConsecutiveNumbersAndTheirOwnSeeds()
    {
        string folder = _dir.File("batches");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "00006-1.png"), []);   // numbering continues after the largest number

        Succeeds(TinySdArgs(folder, "--batch-size", "2", "--batch-count", "2", "--seed", "100", "--steps", "2"));

        var names = Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["00006-1.png", "00007-100.png", "00008-101.png", "00009-102.png", "00010-103.png"], names);
        for (int i = 0; i < 4; i++) Assert.Equal(100 + i, Parameters(Path.Combine(folder, names[i + 1]!)).Seed);
        // the same seed gives the same image whatever batch it was made in
        Succeeds(TinySdArgs(folder, "--seed", "102", "--steps", "2"));
        Assert.Equal(Pixels(Path.Combine(folder, "00009-102.png")).Pixels, Pixels(Path.Combine(folder, "00011-102.png")).Pixels);
    }

    [Fact]
    public void JsonSummaryListsFilesSeedsAndTimings()
    {
        string folder = _dir.File("json");
        var result = Succeeds(TinySdArgs(folder, "--batch-size", "2", "--seed", "9", "--sampler", "ddim", "--json"));

        using var json = JsonDocument.Parse(result.Output);   // stdout holds the JSON and nothing else
        var root = json.RootElement;
        Assert.Equal("tiny-sd", root.GetProperty("model").GetString());
        Assert.Equal("txt2img", root.GetProperty("mode").GetString());
        Assert.Equal([9UL, 10UL], root.GetProperty("seeds").EnumerateArray().Select(s => s.GetUInt64()));
        var images = root.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(2, images.Count);
        for (int i = 0; i < 2; i++)
        {
            string file = images[i].GetProperty("file").GetString()!;
            Assert.True(File.Exists(file), file);
            Assert.Equal(Parameters(file).Seed, images[i].GetProperty("seed").GetInt64());
        }
        var timings = root.GetProperty("timings");
        Assert.Equal(3, timings.GetProperty("modelCalls").GetInt32());
        Assert.True(timings.GetProperty("totalSeconds").GetDouble() >= timings.GetProperty("denoiseSeconds").GetDouble());
        Assert.Contains("step 3/3", result.Error);             // progress went to stderr
    }

    [Fact]
    public void OverwriteReplacesAnExistingFile()
    {
        string png = _dir.Write("existing.png", [1, 2, 3]);
        Succeeds(TinySdArgs(png, "--overwrite"));
        Assert.Equal(5, Parameters(png).Seed);
        Assert.Equal([Path.GetFileName(png)], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void TinyAutoencoderDecodesAndIsRecorded()
    {
        string png = _dir.File("taesd.png");
        Succeeds(TinySdArgs(png, "--taesd", TestPaths.Model("taesd-arch-random")));
        Assert.Equal("taesd-arch-random", Parameters(png).Vae);
    }

    /// <summary>The arguments after <c>--</c> of the first <c>generate</c> command in the README's code blocks.</summary>
    private static List<string> ReadmeFirstCommand()
    {
        string line = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "README.md")).First(l => l.StartsWith("dotnet run ", StringComparison.Ordinal) && l.Contains(" -- generate "));
        return [.. ShellWords().Matches(line[(line.IndexOf(" -- ", StringComparison.Ordinal) + 4)..]).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Value)];
    }

    [GeneratedRegex("\"([^\"]*)\"|\\S+")]
    private static partial Regex ShellWords();

    public void Dispose() => _dir.Dispose();
}
