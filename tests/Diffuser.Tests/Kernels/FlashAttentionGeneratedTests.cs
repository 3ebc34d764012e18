using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>The checked-in attention PTX is exactly what <see cref="FlashAttentionPtxGenerator"/> writes (DIFFUSER_REGENERATE=1 rewrites it).</summary>
public class FlashAttentionGeneratedTests
{
    [Fact]
    public void CheckedInPtxIsTheGeneratorsOutput()
    {
        string path = Path.Combine(TestPaths.RepoRoot, "src", "Diffuser.Kernels", "Attention", "FlashAttentionPtx.Generated.cs");
        string generated = FlashAttentionPtxGenerator.File();
        if (Environment.GetEnvironmentVariable("DIFFUSER_REGENERATE") == "1") File.WriteAllText(path, generated);
        Assert.True(File.ReadAllText(path).ReplaceLineEndings("\n") == generated, $"{path} is out of date: rerun this test with DIFFUSER_REGENERATE=1.");
    }
}
