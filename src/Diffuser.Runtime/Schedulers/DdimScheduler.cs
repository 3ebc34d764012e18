namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' DDIMScheduler (Song et al. 2020): x₀ from the model output, then
/// x_prev = √ᾱ_prev·x₀ + √(1 − ᾱ_prev − σ²)·ε + σ·z with σ = η·√((1 − ᾱ_prev)/(1 − ᾱₜ)·(1 − ᾱₜ/ᾱ_prev)).
/// η comes from <see cref="SamplerOptions.Eta"/>.
/// </summary>
public sealed class DdimScheduler : DiscreteTimeScheduler<SamplerState>
{
    /// <summary>DDIMScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", ClipSample = true,
        SetAlphaToOne = true, StepsOffset = 0, PredictionType = "epsilon", Thresholding = false,
        DynamicThresholdingRatio = 0.995, ClipSampleRange = 1.0, SampleMaxValue = 1.0, TimestepSpacing = "leading",
        RescaleBetasZeroSnr = false,
    };

    private readonly float _finalAlphaProd;

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public DdimScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectEnabled((Config.ClipSample, "clip_sample"), (Config.Thresholding, "thresholding"), (Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        _finalAlphaProd = Config.SetAlphaToOne == true ? 1f : Training.AlphasCumprod[0];
    }

    public override string ClassName => "DDIMScheduler";

    public override TimestepSchedule Schedule(int steps) => IntegerSchedule(steps, IntegerTimesteps(steps));

    private protected override SamplerState CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(SamplerState state, StepPlan plan)
    {
        int t = (int)state.Timestep;
        int previous = t - TrainSteps / state.Schedule.InferenceSteps; // diffusers' rule, whatever the spacing
        float alphaProd = Training.AlphasCumprod[t], alphaProdPrev = AlphaProd(previous, _finalAlphaProd);
        float betaProd = 1f - alphaProd;
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        var x0 = Parametrisation.DenoisedFromAlphaSigma(Prediction, MathF.Sqrt(alphaProd), MathF.Sqrt(betaProd), x, m);
        var eps = Parametrisation.NoiseFromAlphaSigma(Prediction, MathF.Sqrt(alphaProd), MathF.Sqrt(betaProd), x, m);

        float variance = (1f - alphaProdPrev) / betaProd * (1f - alphaProd / alphaProdPrev);
        float eta = (float)state.Options.Eta;
        float stdDev = eta * MathF.Sqrt(variance);
        var direction = MathF.Sqrt(1f - alphaProdPrev - stdDev * stdDev) * eps;
        var previousSample = MathF.Sqrt(alphaProdPrev) * x0 + direction;
        if (eta > 0) previousSample += stdDev * TensorCombination.Noise;
        plan.Next(previousSample);
    }
}
