using Diffuser.Backends.Ilgpu;
using Diffuser.Benchmarks;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// A whole fp16 UNet step on the emulated tensor cores against the managed backend's fp16 step, from the same
/// synthetic weights and inputs (tiny-sd, batch 2 as under guidance, 8×8 latents; what the GPU run's verify-unet
/// stage checks at SD 1.5's 512²): every kernel in its real context, the norms' channel-blocked images feeding the
/// convolutions, the resnets' joined time projections, skips and concats, the cross-attention k|v projections.
/// Within the fp16 limit of the GPU run's checks (measured: 1.7e-3 of the output's largest value; a wrong kernel is
/// off by a whole term).
/// A class of its own, with one backend: every garbage collection walks every thread of the process, and each CPU
/// accelerator keeps 1,025 (measured: 100 gen0 collections take 0.00 s with none, 2.2 s beside 4 accelerators, 6.2 s
/// beside 11). This step allocates much; as a test of <see cref="TensorCoreEmulationTests"/>, whose class holds up to
/// 11 backends, it took 165 s when it ran before the others and 1,558 s after them.
/// Its time is the CPU accelerator's threads meeting at barriers, not the kernels' loading (a second step in the same
/// process: 424 s of the first's 445 s, on a host where the whole test took 454 s alone and 504 s in CI). Measured
/// there and left: one multiprocessor instead of four, 254 s (but split-K's batched splits need four); ILGPU's
/// Sequential mode (a group's threads run one at a time), its first step not done after 20 minutes.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class EmulatedUNetStepTests(EmulatedBackends backends) : IClassFixture<EmulatedBackends>
{
    [Fact]
    public void AWholeFp16UNetStepMatchesTheManagedBackend()
    {
        var report = UNetStepCheck.Run(TestPaths.Model("tiny-sd"), backends.Get(TensorCoreMode.Emulated), DType.F16, batch: 2, imageSize: null);
        var check = Assert.Single(report.Cases);
        Assert.Equal("unet_step/tiny-sd_b2_8x8_f16", check.Id);
        Assert.True(check.MaxReference > 0 && check.Passed, $"{check.Id}: {check.RelativeError:e2} of the largest value, limit {check.Limit:e0}");
    }
}
