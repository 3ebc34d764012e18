using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Benchmarks;
using Diffuser.Diagnostics;
using Diffuser.Tensors;
using Diffuser.Tests.Kernels;

namespace Diffuser.Tests.Benchmarks;

/// <summary>
/// <see cref="OpCaseChecks"/>, what `diffuser bench --ops --verify` runs on the GPU at SD's shapes: results within
/// rounding of the managed backend's pass, a result off by a fraction of its scale, a NaN or a case that throws fail.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class OpCaseCheckTests : IDisposable
{
    private readonly CpuBackend _device = new(), _reference = new();

    [Fact]
    public void TheManagedBackendAgreesWithItselfExactly()
    {
        foreach (var opCase in OpCaseBenchmark.Select("small-f16,small", "conv2d/7x9_c20k24").Concat(OpCaseBenchmark.Select("small", "attention/")))
        {
            var check = OpCaseChecks.Check(_device, _reference, opCase);
            Assert.Equal(0, check.MaxError);
            Assert.True(check.MaxReference > 0 && check.Passed, opCase.Id);
        }
    }

    /// <summary>ILGPU's kernels (its CPU accelerator) sum in another order and round fp16 results on their own: small errors, within the limits.</summary>
    [Fact]
    public void AKernelWithinRoundingOfTheReferencePasses()
    {
        using var kernels = BackendFactory.Create("ilgpu-cpu");
        foreach (var opCase in OpCaseBenchmark.Select("small-f16,small", "gemm/20x131x24_tA"))
        {
            var check = OpCaseChecks.Check(kernels, _reference, opCase);
            Assert.True(check.Passed, $"{opCase.Id}: {check.RelativeError}");
            Assert.Equal(opCase.Id.EndsWith("_f16", StringComparison.Ordinal) ? OpCaseChecks.HalfLimit : OpCaseChecks.SingleLimit, check.Limit);
        }
    }

    /// <summary>A result 2% off its reference (a term left out, a wrong tile) fails in fp32 and fp16; so does a NaN.</summary>
    [Fact]
    public void AWrongResultFails()
    {
        foreach (var opCase in OpCaseBenchmark.Select("small-f16,small", "gemm/20x30x24_tB_bias_residual"))
        {
            var scaled = Check(opCase, (be, y) => be.Affine(y, 1.02f));
            Assert.InRange(scaled.RelativeError, 0.019, 0.021);
            Assert.False(scaled.Passed, opCase.Id);

            var notANumber = Check(opCase, (be, y) => be.Affine(y, float.NaN));
            Assert.Equal(double.PositiveInfinity, notANumber.MaxError);
            Assert.False(notANumber.Passed, opCase.Id);
        }
    }

    /// <summary>A case that throws is reported with its message and the next one is still checked.</summary>
    [Fact]
    public void CheckingAllCasesRecordsFailuresAndReportsAsItGoes()
    {
        var selected = OpCaseBenchmark.Select("small", "gemm/37x29x45_tB");
        var broken = selected[0] with { Name = "broken", Run = (_, _) => throw new DiffuserException("no kernel for this") };
        var seen = new List<(string, int, int)>();
        var report = OpCaseChecks.CheckAll(_device, "test", [broken, selected[0]], (done, sofar) => seen.Add((done.Id, sofar.Cases.Count, sofar.Failures.Count)));
        Assert.Equal([("gemm/broken", 0, 1), (selected[0].Id, 1, 1)], seen);
        Assert.False(report.AllPassed);
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.True(json.RootElement.GetProperty("cases")[0].GetProperty("passed").GetBoolean());
        Assert.Equal("no kernel for this", json.RootElement.GetProperty("failures")[0].GetProperty("error").GetString());
    }

    /// <summary>
    /// A whole UNet step, the same synthetic weights and inputs on both sides: the managed backend in fp16 against itself
    /// exactly, with the fp16 limit (tiny-sd's shapes; the GPU run checks SD 1.5's at 512²).
    /// </summary>
    [Fact]
    public void AUNetStepIsCheckedWholeInItsDtype()
    {
        var report = UNetStepCheck.Run(Infrastructure.TestPaths.Model("tiny-sd"), _device, DType.F16, batch: 2, imageSize: 32);
        var check = Assert.Single(report.Cases);
        Assert.Equal("unet_step/tiny-sd_b2_16x16_f16", check.Id);
        Assert.Equal(OpCaseChecks.HalfLimit, check.Limit);
        Assert.Equal(0, check.MaxError);
        Assert.True(check.MaxReference > 0 && report.AllPassed);
    }

    /// <summary>The case, with <paramref name="spoil"/> applied to the device's result only.</summary>
    private OpCaseCheck Check(OpCase opCase, Func<Backend, Tensor, Tensor> spoil) =>
        OpCaseChecks.Check(_device, _reference, opCase with
        {
            Run = (be, inputs) =>
            {
                var y = opCase.Run(be, inputs);
                if (!ReferenceEquals(be, _device)) return y;
                using (y) return spoil(be, y);
            },
        });

    public void Dispose()
    {
        _device.Dispose();
        _reference.Dispose();
    }
}
