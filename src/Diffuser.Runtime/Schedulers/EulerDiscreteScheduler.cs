namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' EulerDiscreteScheduler (Karras et al. 2022, algorithm 2 without churn): d = (x − x₀)/σ,
/// x_next = x + d·(σ_next − σ).
/// </summary>
public sealed class EulerDiscreteScheduler : SigmaScheduler<SamplerState>
{
    /// <summary>EulerDiscreteScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", PredictionType = "epsilon",
        InterpolationType = "linear", UseKarrasSigmas = false, UseExponentialSigmas = false, UseBetaSigmas = false,
        TimestepSpacing = "linspace", TimestepType = "discrete", StepsOffset = 0, RescaleBetasZeroSnr = false,
        FinalSigmasType = "zero",
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public EulerDiscreteScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectSigmaOptions();
        RejectEnabled((Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        if (Config.InterpolationType != "linear") throw Unsupported($"interpolation_type \"{Config.InterpolationType}\"");
        if (Config.TimestepType != "discrete") throw Unsupported($"timestep_type \"{Config.TimestepType}\"");
    }

    public override string ClassName => "EulerDiscreteScheduler";
    private protected override bool ReadsKarrasSigmas => true;

    public override TimestepSchedule Schedule(int steps) =>
        OneCallPerStep(steps, SigmaTables.FinalSigma(Config.FinalSigmasType!, SmallestTrainingSigma), Config.SigmaMin, Config.SigmaMax);

    private protected override SamplerState CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(SamplerState state, StepPlan plan)
    {
        float sigma = state.Schedule.Sigmas[state.StepIndex], next = state.Schedule.Sigmas[state.StepIndex + 1];
        var x = TensorCombination.Sample;
        var derivative = (x - Denoised(sigma, x, TensorCombination.Model)) / sigma;
        plan.Next(x + derivative * (next - sigma));
    }
}
