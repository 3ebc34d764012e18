using Diffuser.Schedulers;

namespace Diffuser.Imaging;

/// <summary>
/// A scheduler as AUTOMATIC1111's infotext names it: the sampler ("Euler a", "DPM++ 2M", "PLMS") and the schedule
/// type ("Karras"), read from the scheduler's class and resolved config, so the model's own scheduler and a
/// registry name that picks the same configuration are written alike.
/// </summary>
public static class A1111SamplerNames
{
    /// <summary>The classes whose σ schedule follows use_karras_sigmas (Euler ancestral, DDIM, DDPM and PNDM ignore it).</summary>
    private static readonly HashSet<string> ReadKarrasSigmas = new(StringComparer.Ordinal)
    {
        "EulerDiscreteScheduler", "HeunDiscreteScheduler", "LMSDiscreteScheduler", "KDPM2DiscreteScheduler",
        "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "UniPCMultistepScheduler",
    };

    /// <summary>The A1111 sampler name and schedule type (null for the sampler's default schedule).</summary>
    public static (string Sampler, string? ScheduleType) Describe(Scheduler scheduler)
    {
        var config = scheduler.Config;
        string sampler = scheduler.ClassName switch
        {
            "DDIMScheduler" => "DDIM",
            "DDPMScheduler" => "DDPM",
            "PNDMScheduler" => config.SkipPrkSteps == true ? "PLMS" : "PNDM",
            "EulerDiscreteScheduler" => "Euler",
            "EulerAncestralDiscreteScheduler" => "Euler a",
            "HeunDiscreteScheduler" => "Heun",
            "LMSDiscreteScheduler" => "LMS",
            "KDPM2DiscreteScheduler" => "DPM2",
            "DPMSolverMultistepScheduler" => DpmSolver(config, "M"),
            "DPMSolverSinglestepScheduler" => DpmSolver(config, "S"),
            "UniPCMultistepScheduler" => "UniPC",
            var other => other,
        };
        bool karras = config.UseKarrasSigmas == true && ReadKarrasSigmas.Contains(scheduler.ClassName);
        return (sampler, karras ? "Karras" : null);
    }

    /// <summary>"DPM++ 2M", "DPM 2M", "DPM++ 2M SDE", "DPM++ 2S": algorithm, solver order, multistep or single-step.</summary>
    private static string DpmSolver(SchedulerConfig config, string steps)
    {
        string algorithm = config.AlgorithmType ?? "dpmsolver++";
        bool sde = algorithm.StartsWith("sde-", StringComparison.Ordinal);
        string family = algorithm.EndsWith("++", StringComparison.Ordinal) ? "DPM++" : "DPM";
        return $"{family} {config.SolverOrder ?? 2}{steps}{(sde ? " SDE" : "")}";
    }
}
