using Diffuser.Benchmarks;
using Diffuser.Models.Unet;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Benchmarks;

/// <summary>
/// The ops of one SD 1.5 UNet step (512², batch 2) on the shapes-only backend: what the fusions leave. Before them a
/// step ran 558 ops (184 GEMMs, 98 convolutions, 48 adds, 32 transposes, 22 channel-bias adds, 16 GEGLUs, 3 upsamples).
/// </summary>
public class LaunchCountTests(ITestOutputHelper output)
{
    private static string Sd15 => TestPaths.Model("sd15");

    [Fact]
    public void FusedStepRunsNoSeparateAddBiasGegluTransposeOrUpsample()
    {
        var config = UNet2DConditionConfig.Load(Path.Combine(Sd15, "unet", "config.json"));
        var single = ComponentFlops.UNetOps(Sd15, config, 2, 64, 64, 77);
        var half = ComponentFlops.UNetOps(Sd15, config, 2, 64, 64, 77, DType.F16);
        foreach (var (name, ops) in new[] { ("fp32", single), ("fp16", half) })
            output.WriteLine($"{name}: {ops.Count} ops: " + string.Join(", ", ops.GroupBy(r => r.Op).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}")));

        Assert.Equal(368, single.Count);
        Assert.DoesNotContain(single, r => r.Op is "add" or "channel_bias" or "geglu" or "transpose" or "upsample");
        // 184 − 16·2 (q|k|v, k|v) − 16 (GEGLU) + 32 (the 1×1 proj_in/proj_out convolutions, now GEMMs that transpose)
        // − 21 (the 22 resnets' time_emb_proj as one product)
        Assert.Equal(147, single.Count(r => r.Op == "gemm"));
        Assert.Equal(66, single.Count(r => r.Op == "conv2d"));
        // fp16 adds only the conversion of the fp32 latents and of the fp32 timestep embedding.
        Assert.Equal(single.Count + 2, half.Count);
        Assert.Equal(2, half.Count(r => r.Op == "convert"));
        Assert.Equal(single.Sum(r => r.Flops), half.Sum(r => r.Flops));

        // Every later step of a generation reuses the text's k|v projections (one per cross-attention layer).
        var later = ComponentFlops.UNetOps(Sd15, config, 2, 64, 64, 77, DType.F16, laterStep: true);
        output.WriteLine($"fp16, a later step: {later.Count} ops");
        Assert.Equal(half.Count - 16, later.Count);
        Assert.Equal(147 - 16, later.Count(r => r.Op == "gemm"));
    }
}
