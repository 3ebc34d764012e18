using System.Text.Json;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Cli;

/// <summary><c>diffuser bench</c> end to end on the tiny-sd shapes and the small op cases.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void GenerationBenchPrintsItsTablesAndWritesJson()
    {
        string json = _dir.File("bench.json");
        var result = CliRunner.Run("bench", "--model", TestPaths.Model("tiny-sd"), "--device", "cpu", "--steps", "2", "--warmup", "0", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("UNet step latency: median", result.Output);
        Assert.Contains("Kernels of one unet step", result.Output);
        Assert.Contains("conv2d", result.Output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        // tiny-sd's PLMS makes one UNet call more than it has steps.
        Assert.Equal(3, doc.RootElement.GetProperty("components").GetProperty("unet_step").GetProperty("runs").GetInt32());
        Assert.Equal("cpu", doc.RootElement.GetProperty("backend").GetString());
    }

    [Fact]
    public void Fp16EitherRunsOrSaysClearlyThatTheBackendCannot()
    {
        var result = CliRunner.Run("bench", "--model", TestPaths.Model("tiny-sd"), "--device", "cpu", "--steps", "1", "--warmup", "0", "--dtype", "fp16");
        if (result.ExitCode == 0) Assert.Contains("f16", result.Output);
        else Assert.Contains("--dtype fp16 is not supported yet on the cpu backend", result.Error);
    }

    [Fact]
    public void OpsModeTimesTheSelectedCasesAndExportWritesThem()
    {
        string json = _dir.File("ops.json"), cases = _dir.File("cases.json");
        var result = CliRunner.Run("bench", "--ops", "--cases", "small-f16,small", "--filter", "gemm/37x29x45_tB", "--device", "cpu", "--seconds", "0.01", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("gemm/37x29x45_tB", result.Output);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var timed = doc.RootElement.GetProperty("cases");
            Assert.Equal(["gemm/37x29x45_tB_f16", "gemm/37x29x45_tB"], timed.EnumerateArray().Select(c => c.GetProperty("id").GetString()));
            Assert.True(timed[0].GetProperty("stats").GetProperty("median_ms").GetDouble() > 0);
            Assert.Equal(0, doc.RootElement.GetProperty("failures").GetArrayLength());
        }

        Assert.Equal(0, CliRunner.Run("bench", "--export-cases", cases, "--cases", "small", "--filter", "attention").ExitCode);
        using var export = JsonDocument.Parse(File.ReadAllText(cases));
        Assert.All(export.RootElement.EnumerateArray(), c => Assert.Equal("attention", c.GetProperty("family").GetString()));
    }

    [Fact]
    public void VerifyChecksTheSelectedCasesAgainstTheManagedBackend()
    {
        string json = _dir.File("verify.json");
        var result = CliRunner.Run("bench", "--ops", "--verify", "--cases", "small-f16,small", "--filter", "gemm/37x29x45_tB", "--device", "cpu", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("2 of 2 cases within their limit", result.Output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var checks = doc.RootElement.GetProperty("cases");
        Assert.Equal(["gemm/37x29x45_tB_f16", "gemm/37x29x45_tB"], checks.EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.All(checks.EnumerateArray(), c => Assert.True(c.GetProperty("passed").GetBoolean()));

    }

    [Fact]
    public void VerifyWithAModelChecksOneUNetStep()
    {
        string json = _dir.File("verify-unet.json");
        var result = CliRunner.Run("bench", "--model", TestPaths.Model("tiny-sd"), "--verify", "--device", "cpu", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("1 of 1 cases within their limit", result.Output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var check = Assert.Single(doc.RootElement.GetProperty("cases").EnumerateArray());
        Assert.Equal("unet_step/tiny-sd_b2_8x8_f32", check.GetProperty("id").GetString());   // tiny-sd's sample_size 8

        var noModel = CliRunner.Run("bench", "--verify", "--device", "cpu");
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains("needs --model", noModel.Error);
        var badSize = CliRunner.Run("bench", "--model", TestPaths.Model("tiny-sd"), "--verify", "--device", "cpu", "--size", "15");
        Assert.Equal(1, badSize.ExitCode);
        Assert.Contains("multiple of the VAE factor", badSize.Error);
    }

    [Fact]
    public void MissingModelAndUnknownTablesAreOneLineErrors()
    {
        var noModel = CliRunner.Run("bench", "--device", "cpu");
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains("--model", noModel.Error);
        var badTable = CliRunner.Run("bench", "--ops", "--cases", "huge");
        Assert.Equal(1, badTable.ExitCode);
        Assert.Contains("Unknown op case table 'huge'", badTable.Error);
    }

    public void Dispose() => _dir.Dispose();
}
