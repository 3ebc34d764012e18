using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.IO;

/// <summary>Every golden and model safetensors file under shared/ opens, and every tensor in it reads.</summary>
public class SharedSafetensorsTests
{
    /// <summary>All safetensors files under shared/, as paths relative to it.</summary>
    public static IReadOnlyList<string> SharedFiles() =>
        Directory.EnumerateFiles(TestPaths.Shared, "*.safetensors", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(TestPaths.Shared, p)).Order(StringComparer.Ordinal).ToList();

    public static TheoryData<string> Files() => new(SharedFiles());

    [Fact]
    public void SharedHoldsGoldensAndModels()
    {
        var files = SharedFiles();
        Assert.Contains(files, f => f.StartsWith("golden"));
        Assert.Contains(files, f => f.StartsWith("models"));
    }

    [Theory, MemberData(nameof(Files))]
    public void OpensAndReadsEveryTensor(string relativePath)
    {
        string path = Path.Combine(TestPaths.Shared, relativePath);
        var expected = IndependentHeader(path);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var info in file.Tensors)
        {
            var (dtype, shape) = expected[info.Name];
            Assert.Equal(dtype, info.DType.ToString());
            Assert.Equal(shape, info.Shape);
            float[] values = file.ReadSingles(info.Name);
            Assert.Equal(info.ElementCount, values.Length);
            if (info.DType.IsInteger()) Assert.Equal(values, file.ReadInt64(info.Name).Select(v => (float)v));
        }
    }

    /// <summary>Name → (dtype, shape) straight from the header JSON, without the reader under test.</summary>
    private static Dictionary<string, (string DType, int[] Shape)> IndependentHeader(string path)
    {
        using var json = SafetensorsBytes.ReadHeader(path).Header;
        return json.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToDictionary(
            p => p.Name,
            p => (p.Value.GetProperty("dtype").GetString()!, p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray()));
    }
}
