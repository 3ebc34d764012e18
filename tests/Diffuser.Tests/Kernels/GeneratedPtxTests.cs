using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>Each checked-in file of generated PTX is exactly what its generator writes (DIFFUSER_REGENERATE=1 rewrites it).</summary>
public class GeneratedPtxTests
{
    public static TheoryData<string> Files() => new("TensorCore/TensorCorePtx.Generated.cs", "Attention/FlashAttentionPtx.Generated.cs");

    [Theory, MemberData(nameof(Files))]
    public void CheckedInPtxIsTheGeneratorsOutput(string file)
    {
        string path = Path.Combine(TestPaths.RepoRoot, "src", "Diffuser.Kernels", file);
        string generated = file.StartsWith("TensorCore/", StringComparison.Ordinal) ? TensorCorePtxGenerator.File() : FlashAttentionPtxGenerator.File();
        if (Environment.GetEnvironmentVariable("DIFFUSER_REGENERATE") == "1") File.WriteAllText(path, generated);
        Assert.True(File.ReadAllText(path).ReplaceLineEndings("\n") == generated.ReplaceLineEndings("\n"), $"{path} is out of date: rerun this test with DIFFUSER_REGENERATE=1.");
    }
}
