using System.Globalization;
using System.Text.Json;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.IO;

namespace Diffuser.Tests.Cli;

/// <summary><c>diffuser inspect</c> on real files and folders; every expected number is computed here from the files.</summary>
public sealed class InspectCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <summary>Tensor count, parameters and data bytes of a safetensors file, from its header JSON.</summary>
    private static (int Tensors, long Parameters, long Bytes) Totals(string path)
    {
        var (header, headerLength) = SafetensorsBytes.ReadHeader(path);
        using (header)
        {
            var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
            long parameters = tensors.Sum(t => t.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64()));
            return (tensors.Count, parameters, new FileInfo(path).Length - 8 - headerLength);
        }
    }

    private static string ConfigClass(string componentDirectory)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(componentDirectory, "config.json")));
        return config.RootElement.TryGetProperty("_class_name", out var name) ? name.GetString()! : config.RootElement.GetProperty("architectures")[0].GetString()!;
    }

    private static JsonElement RunJson(params string[] args)
    {
        var result = CliRunner.Run([.. args, "--json"]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("", result.Error);
        return JsonDocument.Parse(result.Output).RootElement;
    }

    [Fact]
    public void PipelineListsEachComponentWithItsCounts()
    {
        string pipeline = TestPaths.Model("tiny-sd");
        var report = RunJson("inspect", pipeline);
        Assert.Equal("pipeline", report.GetProperty("kind").GetString());
        Assert.Equal("StableDiffusionPipeline", report.GetProperty("className").GetString());
        var components = report.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        long total = 0;
        foreach (var (name, file) in new[] { ("unet", "diffusion_pytorch_model.safetensors"), ("vae", "diffusion_pytorch_model.safetensors"), ("text_encoder", "model.safetensors") })
        {
            var c = components[name];
            var (tensors, parameters, bytes) = Totals(Path.Combine(pipeline, name, file));
            total += parameters;
            Assert.Equal(ConfigClass(Path.Combine(pipeline, name)), c.GetProperty("className").GetString());
            Assert.Equal([$"{name}/{file}"], c.GetProperty("files").EnumerateArray().Select(f => f.GetString()));
            Assert.Equal(tensors, c.GetProperty("tensorCount").GetInt32());
            Assert.Equal(parameters, c.GetProperty("parameterCount").GetInt64());
            Assert.Equal(bytes, c.GetProperty("bytes").GetInt64());
            Assert.Equal(tensors, c.GetProperty("dtypes").GetProperty("F32").GetInt32());
        }
        Assert.Equal(0, components["scheduler"].GetProperty("files").GetArrayLength());
        Assert.Equal(total, report.GetProperty("parameterCount").GetInt64());
    }

    [Fact]
    public void PipelineTableShowsComponentsAndParameterCounts()
    {
        string pipeline = TestPaths.Model("tiny-sd");
        var result = CliRunner.Run("inspect", pipeline);
        Assert.Equal(0, result.ExitCode);
        foreach (var (name, file) in new[] { ("unet", "diffusion_pytorch_model.safetensors"), ("vae", "diffusion_pytorch_model.safetensors"), ("text_encoder", "model.safetensors") })
        {
            var (tensors, parameters, _) = Totals(Path.Combine(pipeline, name, file));
            string row = Assert.Single(result.Output.Split('\n'), line => line.Contains($" {name} "));
            Assert.Contains(ConfigClass(Path.Combine(pipeline, name)), row);
            Assert.Contains($" {tensors} ", row);
            Assert.Contains(parameters.ToString("N0", CultureInfo.InvariantCulture), row);
        }
    }

    [Fact]
    public void ComponentFolderReportsThatComponent()
    {
        string unet = Path.Combine(TestPaths.Model("tiny-digits"), "unet");
        var report = RunJson("inspect", unet);
        Assert.Equal("component", report.GetProperty("kind").GetString());
        var c = Assert.Single(report.GetProperty("components").EnumerateArray());
        var (tensors, parameters, bytes) = Totals(Path.Combine(unet, "diffusion_pytorch_model.safetensors"));
        Assert.Equal("unet", c.GetProperty("name").GetString());
        Assert.Equal(ConfigClass(unet), c.GetProperty("className").GetString());
        Assert.Equal(parameters, c.GetProperty("parameterCount").GetInt64());
        Assert.Equal(bytes, c.GetProperty("bytes").GetInt64());
        Assert.Equal(tensors, c.GetProperty("dtypes").GetProperty("F16").GetInt32());
    }

    [Fact]
    public void ManifestOnlyPipelineCountsShapes()
    {
        string sd15 = TestPaths.Model("sd15");
        var report = RunJson("inspect", sd15);
        foreach (var c in report.GetProperty("components").EnumerateArray().Where(c => c.GetProperty("files").GetArrayLength() > 0))
        {
            string name = c.GetProperty("name").GetString()!;
            using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(sd15, name, "weights-manifest.json")));
            Assert.Equal(manifest.RootElement.GetProperty("num_elements").GetInt64(), c.GetProperty("parameterCount").GetInt64());
            Assert.Equal(manifest.RootElement.GetProperty("num_tensors").GetInt32(), c.GetProperty("tensorCount").GetInt32());
            Assert.Equal(JsonValueKind.Null, c.GetProperty("bytes").ValueKind);
        }
        Assert.Equal(3, report.GetProperty("components").EnumerateArray().Count(c => c.GetProperty("files").GetArrayLength() > 0));
    }

    [Fact]
    public void SingleFileListsTensorsAndMetadata()
    {
        string path = TestPaths.Golden("tiny-sd", "unet.safetensors");
        var (header, _) = SafetensorsBytes.ReadHeader(path);
        using (header)
        {
            var expected = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
            var report = RunJson("inspect", path);
            var (count, parameters, bytes) = Totals(path);
            Assert.Equal(count, report.GetProperty("tensorCount").GetInt32());
            Assert.Equal(parameters, report.GetProperty("parameterCount").GetInt64());
            Assert.Equal(bytes, report.GetProperty("bytes").GetInt64());
            var tensors = report.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
            Assert.Equal(expected.Select(p => p.Name).Order(StringComparer.Ordinal), tensors.Keys);
            foreach (var p in expected)
            {
                Assert.Equal(p.Value.GetProperty("dtype").GetString(), tensors[p.Name].GetProperty("dtype").GetString());
                Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()),
                    tensors[p.Name].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            }
            var metadataKeys = header.RootElement.GetProperty("__metadata__").EnumerateObject().Select(m => m.Name).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(metadataKeys, report.GetProperty("metadata").EnumerateObject().Select(m => m.Name));

            var text = CliRunner.Run("inspect", path);
            Assert.Equal(0, text.ExitCode);
            Assert.All(expected, p => Assert.Contains(p.Name, text.Output));
            Assert.Contains($"metadata keys: {string.Join(", ", metadataKeys)}", text.Output);
            Assert.Contains($"{count} tensors, {parameters.ToString("N0", CultureInfo.InvariantCulture)} parameters", text.Output);
        }
    }

    [Fact]
    public void MissingPathIsAOneLineErrorWithExitCode1()
    {
        string missing = _dir.File("no-such-model");
        AssertOneLineError(CliRunner.Run("inspect", missing), missing);
    }

    [Fact]
    public void CorruptFileIsAOneLineErrorNamingFileAndTensor()
    {
        string path = _dir.Write("bad.safetensors", SafetensorsBytes.Build($$"""{"w":{{SafetensorsBytes.Entry("F32", "[3]", "[0,8]")}}}""", 8));
        var result = CliRunner.Run("inspect", path);
        AssertOneLineError(result, path);
        Assert.Contains("tensor 'w'", result.Error);
    }

    [Fact]
    public void FolderWithoutAModelIsAnError()
    {
        AssertOneLineError(CliRunner.Run("inspect", _dir.Path), _dir.Path);
    }

    private static void AssertOneLineError(CliResult result, string path)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Output);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(path, line);
        Assert.DoesNotContain("Exception", line);
    }

    public void Dispose() => _dir.Dispose();
}
