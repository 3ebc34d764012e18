using Diffuser.Models.Unet;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// One whole forward pass of the tiny-sd UNet through the ILGPU kernels (ILGPU's CPU accelerator here, the GPU when
/// <c>DIFFUSER_TEST_DEVICE</c> names one) against diffusers' output: every kernel in its real context.
/// On ILGPU's CPU accelerator this fp32 pass takes 3 minutes on 2 cores alone (7–13 beside other tests), half the
/// default run's time, so it carries the <c>DeviceRun</c> category: the GPU script runs it on CUDA, and
/// `dotnet test --filter Category=DeviceRun` runs it anywhere. The default run checks a whole fp16 step on the emulated
/// tensor cores instead (<see cref="EmulatedUNetStepTests"/>).
/// </summary>
[Trait("Category", "DeviceRun")]
[Collection(CpuAcceleratorCollection.Name)]
public class UNetOnIlgpuTests(KernelBackends backends) : IClassFixture<KernelBackends>
{
    [Fact]
    public void TinySdNoisePredictionMatchesDiffusers()
    {
        var f = Golden.Open("tiny-sd", "unet.safetensors");
        using var unet = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd"), backends.Ilgpu);
        using var sample = f.Load(backends.Ilgpu, "sample");
        using var context = f.Load(backends.Ilgpu, "encoder_hidden_states");
        using var noisePred = unet.Forward(sample, f.Floats("t500.timestep"), context);
        Tolerance.AssertClose(noisePred.ToArray(), f.Floats("t500.noise_pred"), 1e-4, 1e-4, "tiny-sd t500 noise_pred on " + backends.Ilgpu.Name);
    }
}
