using Diffuser.Imaging;
using Diffuser.Schedulers;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Imaging;

/// <summary>Schedulers named as AUTOMATIC1111 writes them in infotext, from SD 1.5's real scheduler config.</summary>
public class A1111SamplerNamesTests
{
    private static readonly SchedulerConfig Sd15 = SchedulerConfig.Load(Path.Combine(TestPaths.Model("sd15"), "scheduler", "scheduler_config.json"));

    [Theory]
    [InlineData("euler_a", "Euler a", null)]
    [InlineData("euler", "Euler", null)]
    [InlineData("euler_karras", "Euler", "Karras")]
    [InlineData("ddim", "DDIM", null)]
    [InlineData("plms", "PLMS", null)]
    [InlineData("lms_karras", "LMS", "Karras")]
    [InlineData("heun", "Heun", null)]
    [InlineData("dpm2", "DPM2", null)]
    [InlineData("dpm++_2m", "DPM++ 2M", null)]
    [InlineData("DPM++ 2M Karras", "DPM++ 2M", "Karras")]
    [InlineData("dpm++_2s", "DPM++ 2S", null)]
    [InlineData("unipc", "UniPC", null)]
    [InlineData("DDPMScheduler", "DDPM", null)]
    public void RegistryNames(string name, string sampler, string? scheduleType) =>
        Assert.Equal((sampler, scheduleType), A1111SamplerNames.Describe(SchedulerRegistry.Create(name, Sd15)));

    [Fact]
    public void TheModelsOwnPndmWithoutRungeKuttaIsPlms() =>
        Assert.Equal(("PLMS", (string?)null), A1111SamplerNames.Describe(SchedulerRegistry.FromConfig(Sd15)));

    [Fact]
    public void KarrasSigmasIgnoredByEulerAncestralAreNotClaimed() =>
        Assert.Equal(("Euler a", (string?)null),
            A1111SamplerNames.Describe(SchedulerRegistry.Create("euler_a", Sd15 with { UseKarrasSigmas = true })));

    [Fact]
    public void DpmSolverFirstOrderAndPlainAlgorithm() =>
        Assert.Equal(("DPM 1M", (string?)null),
            A1111SamplerNames.Describe(SchedulerRegistry.Create("DPMSolverMultistepScheduler", Sd15 with { AlgorithmType = "dpmsolver", SolverOrder = 1, FinalSigmasType = "sigma_min" })));
}
