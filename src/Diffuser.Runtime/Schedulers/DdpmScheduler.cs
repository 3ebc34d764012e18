namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' DDPMScheduler (Ho et al. 2020): the posterior mean of x_prev given x₀ and xₜ plus σ·z
/// (variance_type fixed_small, fixed_small_log or fixed_large). Every step with t &gt; 0 draws noise.
/// </summary>
public sealed class DdpmScheduler : DiscreteTimeScheduler<SamplerState>
{
    /// <summary>DDPMScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", VarianceType = "fixed_small",
        ClipSample = true, PredictionType = "epsilon", Thresholding = false, DynamicThresholdingRatio = 0.995,
        ClipSampleRange = 1.0, SampleMaxValue = 1.0, TimestepSpacing = "leading", StepsOffset = 0, RescaleBetasZeroSnr = false,
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public DdpmScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectEnabled((Config.ClipSample, "clip_sample"), (Config.Thresholding, "thresholding"), (Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        if (Config.VarianceType is not ("fixed_small" or "fixed_small_log" or "fixed_large"))
            throw Unsupported($"variance_type \"{Config.VarianceType}\" (expected fixed_small, fixed_small_log or fixed_large)");
    }

    public override string ClassName => "DDPMScheduler";

    public override TimestepSchedule Schedule(int steps) => IntegerSchedule(steps, IntegerTimesteps(steps));

    private protected override SamplerState CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(SamplerState state, StepPlan plan)
    {
        int t = (int)state.Timestep;
        int previous = state.StepIndex + 1 < state.Schedule.Length ? (int)state.Schedule.Timesteps[state.StepIndex + 1] : -1;
        float alphaProd = Training.AlphasCumprod[t], alphaProdPrev = AlphaProd(previous, 1f);
        float betaProd = 1f - alphaProd, betaProdPrev = 1f - alphaProdPrev;
        float currentAlpha = alphaProd / alphaProdPrev, currentBeta = 1f - currentAlpha;
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        var x0 = Parametrisation.DenoisedFromAlphaSigma(Prediction, MathF.Sqrt(alphaProd), MathF.Sqrt(betaProd), x, m);

        // Formula (7) of https://arxiv.org/pdf/2006.11239.pdf: the coefficients of x₀ and xₜ in the posterior mean
        float x0Coefficient = MathF.Sqrt(alphaProdPrev) * currentBeta / betaProd;
        float sampleCoefficient = MathF.Sqrt(currentAlpha) * betaProdPrev / betaProd;
        var previousSample = x0Coefficient * x0 + sampleCoefficient * x;
        if (t > 0) previousSample += StandardDeviation(alphaProd, alphaProdPrev, currentBeta) * TensorCombination.Noise;
        plan.Next(previousSample);
    }

    /// <summary>The noise scale of a step: √variance, as _get_variance and step combine them per variance_type.</summary>
    private float StandardDeviation(float alphaProd, float alphaProdPrev, float currentBeta)
    {
        float variance = MathF.Max((1f - alphaProdPrev) / (1f - alphaProd) * currentBeta, 1e-20f);
        return Config.VarianceType switch
        {
            "fixed_small_log" => MathF.Exp(0.5f * MathF.Log(variance)),
            "fixed_large" => MathF.Sqrt(currentBeta),
            _ => MathF.Sqrt(variance),
        };
    }
}
