using Diffuser.Imaging;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Cli;

/// <summary>Helpers for the <c>diffuser generate</c> tests: model paths, arguments, PNGs read back, folder snapshots.</summary>
internal static class GenerateRun
{
    public static string TinySd => TestPaths.Model("tiny-sd");

    /// <summary>The demo model shipped in the repository (not the shared copy).</summary>
    public static string TinyDigits => Path.Combine(TestPaths.RepoRoot, "models", "tiny-digits");

    /// <summary>
    /// A fast tiny-sd run on the cpu backend writing to <paramref name="output"/> with the options in
    /// <paramref name="more"/>; 3 steps and seed 5 unless they say otherwise.
    /// </summary>
    public static string[] TinySdArgs(string output, params string[] more)
    {
        string[] defaults = [.. more.Contains("--steps") ? [] : new[] { "--steps", "3" }, .. more.Contains("--seed") ? [] : new[] { "--seed", "5" }];
        return ["generate", "--model", TinySd, "--prompt", "a photo of an astronaut", "--device", "cpu", "--output", output, .. defaults, .. more];
    }

    public static CliResult Succeeds(params string[] args)
    {
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}");
        return result;
    }

    /// <summary>The A1111 <c>parameters</c> text of a PNG, parsed.</summary>
    public static GenerationParameters Parameters(string png) =>
        GenerationParameters.FromInfotext(PngImageFile.ReadParameters(png) ?? throw new Xunit.Sdk.XunitException($"{png} has no parameters chunk"));

    public static RgbImage Pixels(string png) => ImageLoader.LoadImage(png, new ImageLoadOptions { SizeMultiple = 1, MinSide = 1 });

    /// <summary>Every file and folder under <paramref name="root"/> with file sizes and times: equal snapshots = nothing changed.</summary>
    public static IReadOnlyList<string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => File.Exists(p) ? $"{p} {new FileInfo(p).Length} {File.GetLastWriteTimeUtc(p):O}" : $"{p}/")
            .Order(StringComparer.Ordinal).ToList();

    /// <summary>A failed run: exit code 1 and one red "error:" line on stderr containing every fragment.</summary>
    public static string AssertOneLineError(CliResult result, params string[] fragments)
    {
        Assert.True(result.ExitCode == 1, $"exit {result.ExitCode}; stderr: {result.Error}");
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.DoesNotContain("Exception", line);
        foreach (string fragment in fragments) Assert.Contains(fragment, line);
        return line;
    }
}
