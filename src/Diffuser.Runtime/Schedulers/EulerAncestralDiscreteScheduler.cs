namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' EulerAncestralDiscreteScheduler (k-diffusion's sample_euler_ancestral): an Euler step down to
/// σ_down, then fresh noise of scale σ_up, with σ_up² = σ_next²(σ² − σ_next²)/σ² and σ_down² = σ_next² − σ_up².
/// Every step draws noise.
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : SigmaScheduler<SamplerState>
{
    /// <summary>EulerAncestralDiscreteScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", PredictionType = "epsilon",
        TimestepSpacing = "linspace", StepsOffset = 0, RescaleBetasZeroSnr = false,
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public EulerAncestralDiscreteScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectEnabled((Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        if (Prediction == PredictionType.Sample) throw Unsupported("prediction_type \"sample\"");
    }

    public override string ClassName => "EulerAncestralDiscreteScheduler";
    private protected override bool ReadsKarrasSigmas => false;

    public override TimestepSchedule Schedule(int steps) => OneCallPerStep(steps, finalSigma: 0f);

    private protected override SamplerState CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(SamplerState state, StepPlan plan)
    {
        float from = state.Schedule.Sigmas[state.StepIndex], to = state.Schedule.Sigmas[state.StepIndex + 1];
        float up = MathF.Sqrt(to * to * (from * from - to * to) / (from * from));
        float down = MathF.Sqrt(to * to - up * up);
        var x = TensorCombination.Sample;
        var derivative = (x - Denoised(from, x, TensorCombination.Model)) / from;
        plan.Next(x + derivative * (down - from) + up * TensorCombination.Noise);
    }
}
