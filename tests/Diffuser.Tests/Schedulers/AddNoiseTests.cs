using Diffuser.Backends;
using Diffuser.Schedulers;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>golden/schedulers add_noise cases: at training timesteps, and at the img2img start (set_begin_index).</summary>
public class AddNoiseTests : IDisposable
{
    private const double Tol = 1e-6;
    private readonly Backend _backend = TestBackend.Create();

    private static Scheduler Sd15(string name) => SchedulerRegistry.Create(name, SchedulerConfig.Load(SchedulerGoldens.ConfigPath("sd15")));

    [Theory]
    [InlineData("ddim", "DDIMScheduler")]
    [InlineData("ddpm", "DDPMScheduler")]
    [InlineData("pndm", "PNDMScheduler")]
    public void AtTrainingTimesteps(string golden, string className)
    {
        var f = SchedulerGoldens.Tensors;
        var scheduler = (IDiscreteTimeScheduler)Sd15(className);
        Tolerance.AssertClose(((Scheduler)scheduler).Training.AlphasCumprod, f.Floats($"add_noise.{golden}.alphas_cumprod"), 0, Tol, $"{golden} alphas_cumprod");
        using var original = f.Load(_backend, "add_noise.original");
        using var noise = f.Load(_backend, "add_noise.noise");
        var timesteps = f.ReadInt64($"add_noise.{golden}.timesteps");
        var expected = f.Floats($"add_noise.{golden}.noisy");
        for (int i = 0; i < timesteps.Length; i++)
        {
            using var noisy = scheduler.AddNoise(_backend, original, noise, (int)timesteps[i]);
            Tolerance.AssertClose(noisy.ToArray(), expected.AsSpan(i * (int)noisy.Length, (int)noisy.Length), Tol, Tol, $"{golden} t={timesteps[i]}");
        }
    }

    [Theory]
    [InlineData("euler", "euler")]
    [InlineData("dpmpp_2m", "dpm++_2m")]
    [InlineData("ddim_img2img", "ddim")]
    public void AtImg2ImgStart(string golden, string sampler)
    {
        var f = SchedulerGoldens.Tensors;
        var meta = SchedulerGoldens.Document["add_noise"]![golden]!;
        int steps = (int)meta["num_inference_steps"]!;
        var scheduler = Sd15(sampler);
        int begin = scheduler.BeginIndexForStrength(steps, (double)meta["strength"]!);
        Assert.Equal((int)meta["t_start"]! * scheduler.Order, begin);
        using var state = scheduler.Begin(steps, new SamplerOptions { BeginIndex = begin });
        Assert.Equal(f.Floats($"add_noise.{golden}.latent_timestep")[0], state.Timestep);
        using var original = f.Load(_backend, "add_noise.original");
        using var noise = f.Load(_backend, "add_noise.noise");
        using var noisy = scheduler.AddNoise(_backend, state, original, noise);
        Tolerance.AssertClose(noisy.ToArray(), f.Floats($"add_noise.{golden}.noisy"), Tol, Tol, $"{golden} noisy");
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
