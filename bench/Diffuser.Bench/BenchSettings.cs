using System.Text.Json;
using Diffuser.Diagnostics;

namespace Diffuser.Bench;

/// <summary>
/// What the suite runs, from environment variables (inherited by BenchmarkDotNet's child processes; Program sets them
/// from <c>--small</c>, <c>--devices</c> and <c>--torch</c>):
/// <c>DIFFUSER_BENCH_SMALL=1</c> the small test shapes and the model at 64 px instead of SD 1.5 at 512²;
/// <c>DIFFUSER_BENCH_DEVICES</c> comma-separated devices (default cpu);
/// <c>DIFFUSER_BENCH_MODEL</c> the pipeline folder (default ../shared/models/sd15, or $DIFFUSER_SHARED/models/sd15);
/// <c>DIFFUSER_BENCH_SIZE</c> the image size; <c>DIFFUSER_BENCH_TORCH</c> a torch_bench.py JSON to compare with.
/// </summary>
public static class BenchSettings
{
    public const string SmallVariable = "DIFFUSER_BENCH_SMALL", DevicesVariable = "DIFFUSER_BENCH_DEVICES", TorchVariable = "DIFFUSER_BENCH_TORCH";

    public static bool Small => Environment.GetEnvironmentVariable(SmallVariable) == "1";

    public static IReadOnlyList<string> Devices =>
        (Environment.GetEnvironmentVariable(DevicesVariable) is { Length: > 0 } d ? d : "cpu")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The op case table: SD 1.5 at 512² with CFG, or the small test shapes.</summary>
    public static IReadOnlyList<OpCase> Cases => Small ? OpCases.Small : OpCases.StableDiffusion;

    public static OpCase Case(string id) => Cases.Single(c => c.Id == id);

    public static string ModelFolder => Environment.GetEnvironmentVariable("DIFFUSER_BENCH_MODEL") is { Length: > 0 } m ? m
        : Path.Combine(SharedFolder(), "models", "sd15");

    public static int ImageSize => int.TryParse(Environment.GetEnvironmentVariable("DIFFUSER_BENCH_SIZE"), out int size) ? size : Small ? 64 : 512;

    /// <summary>UNet batch: 2, classifier-free guidance.</summary>
    public const int Batch = 2;

    /// <summary>Median milliseconds per case id (and per model benchmark name) from a torch_bench.py JSON, or empty.</summary>
    public static IReadOnlyDictionary<string, double> TorchMilliseconds { get; } = LoadTorch();

    private static Dictionary<string, double> LoadTorch()
    {
        var result = new Dictionary<string, double>();
        if (Environment.GetEnvironmentVariable(TorchVariable) is not { Length: > 0 } path) return result;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateObject())
            if (c.Value.TryGetProperty("fp32_ms", out var ms) && ms.ValueKind == JsonValueKind.Number) result[c.Name] = ms.GetDouble();
        // The eager UNet step, timed at the same batch and latent size as ModelBenchmarks.UNetStep when both use 512².
        if (doc.RootElement.TryGetProperty("unet_step", out var unet) && unet.ValueKind == JsonValueKind.Object
            && unet.TryGetProperty("fp32_ms", out var unetMs) && unetMs.ValueKind == JsonValueKind.Number)
            result["unet_step"] = unetMs.GetDouble();
        return result;
    }

    private static string SharedFolder()
    {
        if (Environment.GetEnvironmentVariable("DIFFUSER_SHARED") is { Length: > 0 } shared) return shared;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffuser.sln"))) return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
        throw new InvalidOperationException($"No Diffuser.sln above {AppContext.BaseDirectory}; set DIFFUSER_SHARED or DIFFUSER_BENCH_MODEL.");
    }
}
