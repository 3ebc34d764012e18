using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Diffuser.IO;

namespace Diffuser.Tests.Infrastructure;

/// <summary>Opens golden files once per test run and hands out their tensors as fp32 arrays.</summary>
public static class Golden
{
    private static readonly ConcurrentDictionary<string, SafetensorsFile> Files = new();

    public static SafetensorsFile Open(params string[] relativePath) =>
        Files.GetOrAdd(TestPaths.Golden(relativePath), SafetensorsFile.Open);

    public static float[] Floats(this SafetensorsFile file, string name) => file.ReadSingles(name);

    public static int[] ShapeOf(this SafetensorsFile file, string name) => file.GetInfo(name).Shape;

    /// <summary>The file's <c>__metadata__["golden"]</c> description (inputs, seeds, settings) as JSON.</summary>
    public static JsonObject Description(this SafetensorsFile file) =>
        // Python's json writes -Infinity bare (a DPM config value); System.Text.Json reads it as a quoted named literal
        JsonNode.Parse(file.Metadata["golden"].Replace("-Infinity", "\"-Infinity\""))!.AsObject();
}
