using Diffuser.Backends;
using Diffuser.Benchmarks;
using Diffuser.Models.Unet;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Benchmarks;

/// <summary>FLOP counting on the shapes-only meta backend, at full SD 1.5 size in milliseconds.</summary>
public class FlopCountTests
{
    private static string Sd15 => TestPaths.Model("sd15");
    private static UNet2DConditionConfig UNetConfig => UNet2DConditionConfig.Load(Path.Combine(Sd15, "unet", "config.json"));

    [Fact]
    public void Sd15UNetAt64LatentsIsAboutPointEightTeraflopPerPass()
    {
        long batch1 = ComponentFlops.UNetPass(Sd15, UNetConfig, 1, 64, 64, 77);
        long batch2 = ComponentFlops.UNetPass(Sd15, UNetConfig, 2, 64, 64, 77);
        // The published ballpark for SD 1.5 at 512² is ~0.8 TFLOP (0.4 T multiply-adds) per UNet pass.
        Assert.InRange(batch1, 0.75e12, 0.85e12);
        Assert.Equal(2 * batch1, batch2);
        // Quadratic attention makes larger latents cost more than proportionally more.
        Assert.True(ComponentFlops.UNetPass(Sd15, UNetConfig, 1, 96, 96, 77) > 2.25 * batch1);
    }

    [Fact]
    public void MetaBackendRunsOpsOnlyWhenShapesFlow()
    {
        using var strict = new MetaBackend();
        using var a = strict.Allocate(new TensorShape(1, 4, 8));
        using var b = strict.Allocate(new TensorShape(8, 3));
        Assert.Throws<DiffuserException>(() => strict.Gemm(a, b));

        using var flowing = new MetaBackend(shapesFlow: true);
        using var x = flowing.Allocate(new TensorShape(1, 4, 8));
        using var w = flowing.Allocate(new TensorShape(8, 3));
        using var y = flowing.Gemm(x, w);
        Assert.Equal(new TensorShape(1, 4, 3), y.Shape);
        Assert.Throws<DiffuserException>(() => flowing.CopyToHost(y, new float[12]));
    }
}
