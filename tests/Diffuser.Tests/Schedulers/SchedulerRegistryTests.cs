using Diffuser.Schedulers;

namespace Diffuser.Tests.Schedulers;

/// <summary>Sampler names (diffusers classes, A1111 / k-diffusion names) and the default scheduler of each model config.</summary>
public class SchedulerRegistryTests
{
    private static readonly SchedulerConfig Sd15 = SchedulerConfig.Load(SchedulerGoldens.ConfigPath("sd15"));

    [Theory]
    [InlineData("euler", typeof(EulerDiscreteScheduler), false)]
    [InlineData("Euler a", typeof(EulerAncestralDiscreteScheduler), false)]
    [InlineData("euler_ancestral", typeof(EulerAncestralDiscreteScheduler), false)]
    [InlineData("heun", typeof(HeunDiscreteScheduler), false)]
    [InlineData("lms", typeof(LmsDiscreteScheduler), false)]
    [InlineData("LMS Karras", typeof(LmsDiscreteScheduler), true)]
    [InlineData("dpm++_2m", typeof(DpmSolverMultistepScheduler), false)]
    [InlineData("DPM++ 2M Karras", typeof(DpmSolverMultistepScheduler), true)]
    [InlineData("dpm++-2s", typeof(DpmSolverSinglestepScheduler), false)]
    [InlineData("ddim", typeof(DdimScheduler), false)]
    [InlineData("ddpm", typeof(DdpmScheduler), false)]
    [InlineData("pndm", typeof(PndmScheduler), false)]
    [InlineData("PLMS", typeof(PndmScheduler), false)]
    [InlineData("unipc", typeof(UniPCMultistepScheduler), false)]
    [InlineData("dpm2", typeof(KDpm2DiscreteScheduler), false)]
    [InlineData("kdpm2", typeof(KDpm2DiscreteScheduler), false)]
    [InlineData("dpm2_karras", typeof(KDpm2DiscreteScheduler), true)]
    [InlineData("KDPM2DiscreteScheduler", typeof(KDpm2DiscreteScheduler), false)]
    [InlineData("UniPCMultistepScheduler", typeof(UniPCMultistepScheduler), false)]
    public void NamesPickTheClassAndOverrides(string name, Type type, bool karras)
    {
        var scheduler = SchedulerRegistry.Create(name, Sd15);
        Assert.IsType(type, scheduler);
        Assert.Equal(karras, scheduler.Config.UseKarrasSigmas == true);
        Assert.Equal(0.012, scheduler.Config.BetaEnd); // the model's config underneath the overrides
    }

    [Fact]
    public void DpmNamesSetTheAlgorithm()
    {
        var config = Sd15 with { AlgorithmType = "dpmsolver", SolverOrder = 1 };
        var scheduler = SchedulerRegistry.Create("dpm++_2m", config);
        Assert.Equal("dpmsolver++", scheduler.Config.AlgorithmType);
        Assert.Equal(2, scheduler.Config.SolverOrder);
    }

    [Fact]
    public void UnknownNameListsTheValidOnes()
    {
        var e = Assert.Throws<DiffuserException>(() => SchedulerRegistry.Create("dpm_fast", Sd15));
        Assert.Contains("\"dpm_fast\"", e.Message);
        foreach (var name in new[] { "euler_a", "dpm++_2m_karras", "ddim", "unipc", "EulerDiscreteScheduler" }) Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("sd15", typeof(PndmScheduler))]
    [InlineData("sd21", typeof(DdimScheduler))]
    [InlineData("sdxl", typeof(EulerDiscreteScheduler))]
    public void ModelConfigNamesItsDefault(string model, Type type) =>
        Assert.IsType(type, SchedulerRegistry.FromConfig(SchedulerConfig.Load(SchedulerGoldens.ConfigPath(model))));
}
