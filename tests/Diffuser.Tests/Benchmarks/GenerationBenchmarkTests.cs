using System.Text.Json;
using Diffuser.Backends.Cpu;
using Diffuser.Benchmarks;
using Diffuser.Diagnostics;
using Diffuser.Models.Unet;
using Diffuser.Schedulers;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Benchmarks;

/// <summary>The generation benchmark on the tiny-sd pipeline's shapes (seconds on the cpu backend).</summary>
public class GenerationBenchmarkTests
{
    [Fact]
    public void EveryComponentIsTimedAndTheUNetStepIsBrokenIntoKernels()
    {
        var report = GenerationBenchmark.Run(new GenerationBenchmarkOptions
        {
            ModelFolder = TestPaths.Model("tiny-sd"), Device = "cpu", Steps = 3, Warmup = 1, Batch = 2,
        });
        Assert.Equal(16, report.ImageSize);                 // sample_size 8 × VAE factor 2
        Assert.Equal(8, report.LatentSize);
        Assert.True(report.Guided);
        // One UNet call per scheduler call: PLMS (tiny-sd's PNDM) makes one more call than it has steps.
        var scheduler = SchedulerRegistry.FromConfig(SchedulerConfig.Load(Path.Combine(TestPaths.Model("tiny-sd"), "scheduler", "scheduler_config.json")));
        int calls = scheduler.Schedule(3).Length;
        var unet = report.Components[GenerationBenchmark.UNetStep];
        Assert.Equal(calls, unet.Runs);
        Assert.True(unet.MedianMs > 0 && unet.P90Ms >= unet.MedianMs && unet.MinMs <= unet.MedianMs);
        Assert.Equal(calls, report.Components[GenerationBenchmark.SamplerStep].Runs);
        Assert.Equal(1, report.Components[GenerationBenchmark.TextEncoder].Runs);
        Assert.Equal(1, report.Components[GenerationBenchmark.VaeDecode].Runs);
        foreach (var (name, wall) in report.Components)   // the host time of each run ends before its wall time
        {
            var host = report.HostIssue[name];
            Assert.Equal(wall.Runs, host.Runs);
            Assert.True(host.MedianMs <= wall.MedianMs && host.MinMs <= wall.MinMs, name);
        }

        // The profiled step's FLOPs are the shapes-only count of the same pass.
        var config = UNet2DConditionConfig.Load(Path.Combine(TestPaths.Model("tiny-sd"), "unet", "config.json"));
        Assert.Equal(ComponentFlops.UNetPass(TestPaths.Model("tiny-sd"), config, 2, 8, 8, 77), unet.Flops);
        Assert.Equal(unet.Flops / 2, report.UNetFlopsPerPass);
        Assert.Equal(report.UNetFlopsPerPass, report.UNetFlopsAtSampleSize);   // tiny-sd's own sample_size is 8
        var kernels = report.Kernels[GenerationBenchmark.UNetStep];
        Assert.Contains(kernels, k => k.Op == "conv2d" && k.Count > 0);
        Assert.Contains(kernels, k => k.Op == "attention");
        Assert.Equal(unet.Flops, kernels.Sum(k => k.Flops));

        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(calls, json.RootElement.GetProperty("components").GetProperty("unet_step").GetProperty("runs").GetInt32());
        Assert.Equal(calls, json.RootElement.GetProperty("host_issue").GetProperty("unet_step").GetProperty("runs").GetInt32());
        Assert.Equal(report.UNetFlopsPerPass, json.RootElement.GetProperty("unet_flops_per_pass").GetInt64());
        // The warm-up generation's wall time (on a GPU: the kernels compiled on first use) is reported apart.
        Assert.True(Assert.Single(report.WarmupMs) > 0);
        Assert.Equal(report.WarmupMs[0], json.RootElement.GetProperty("warmup_ms")[0].GetDouble());
    }

    [Fact]
    public void BadOptionsAreRejectedBeforeAnyWork()
    {
        var e = Assert.Throws<DiffuserException>(() => GenerationBenchmark.Run(new GenerationBenchmarkOptions
        {
            ModelFolder = TestPaths.Model("tiny-sd"), Device = "cpu", Steps = 0,
        }));
        Assert.Contains("--steps", e.Message);
        Assert.Throws<DiffuserException>(() => GenerationBenchmark.Run(new GenerationBenchmarkOptions { ModelFolder = "/no/such/model", Device = "cpu" }));
    }

    /// <summary>
    /// A run over several tables (in their order) records a case that throws and goes on, reporting after every case,
    /// so that a run stopped part way keeps what it measured.
    /// </summary>
    [Fact]
    public void TimingAllCasesRecordsFailuresAndReportsAsItGoes()
    {
        using var backend = new CpuBackend();
        var selected = OpCaseBenchmark.Select("small-f16, small", "gemm/37x29x45_tB");
        Assert.Equal(["gemm/37x29x45_tB_f16", "gemm/37x29x45_tB"], selected.Select(c => c.Id));
        var broken = selected[0] with { Name = "broken", Run = (_, _) => throw new DiffuserException("no kernel for this") };
        var seen = new List<(string, int, int)>();
        var report = OpCaseBenchmark.TimeAll(backend, "test", [broken, selected[1]], warmup: 1, seconds: 0.01,
            (done, sofar) => seen.Add((done.Id, sofar.Cases.Count, sofar.Failures.Count)));
        Assert.Equal([("gemm/broken", 0, 1), (selected[1].Id, 1, 1)], seen);
        Assert.Equal("no kernel for this", Assert.Single(report.Failures).Error);
        Assert.Equal(selected[1].Id, Assert.Single(report.Cases).Id);
        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal("gemm/broken", json.RootElement.GetProperty("failures")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void OpCaseTimingAndExportCarryTheCaseParameters()
    {
        using var backend = new CpuBackend();
        var opCase = Assert.Single(OpCaseBenchmark.Select("small", "conv2d/7x9_c20k24"));
        var timing = OpCaseBenchmark.Time(backend, opCase, warmup: 1, seconds: 0.01);
        Assert.True(timing.Stats.Runs >= 3 && timing.Stats.MedianMs > 0);
        Assert.Equal(opCase.Flops, timing.Stats.Flops);

        using var export = JsonDocument.Parse(OpCaseBenchmark.ExportCases(OpCases.StableDiffusion));
        var cases = export.RootElement.EnumerateArray().ToList();
        Assert.Equal(OpCases.StableDiffusion.Select(c => c.Id), cases.Select(c => c.GetProperty("id").GetString()));
        var down = cases.Single(c => c.GetProperty("id").GetString() == "conv2d/64x64_c320k320_k3s2_down");
        Assert.Equal(2, down.GetProperty("args").GetProperty("stride").GetInt32());
        Assert.Equal([1, 1, 1, 1], down.GetProperty("args").GetProperty("padding").EnumerateArray().Select(p => p.GetInt32()));
        Assert.Equal([2, 320, 64, 64], down.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(p => p.GetInt32()));
        Assert.All(OpCases.StableDiffusion, c => Assert.NotNull(c.Args));
    }
}
