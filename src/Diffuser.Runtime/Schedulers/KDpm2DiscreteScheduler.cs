using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' KDPM2DiscreteScheduler (k-diffusion's sample_dpm_2, "DPM2"): each inference step takes an Euler step
/// to the geometric midpoint σ_mid = √(σ·σ_next), calls the model there and finishes the step from the first call's
/// sample with the midpoint slope. 2N − 1 model calls; the midpoint timesteps are σ_mid mapped back to t in fp32.
/// </summary>
public sealed class KDpm2DiscreteScheduler : SigmaScheduler<KDpm2DiscreteScheduler.State>
{
    /// <summary>KDPM2DiscreteScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "linear", UseKarrasSigmas = false,
        UseExponentialSigmas = false, UseBetaSigmas = false, PredictionType = "epsilon", TimestepSpacing = "linspace",
        StepsOffset = 0,
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public KDpm2DiscreteScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectSigmaOptions();
        if (Prediction == PredictionType.Sample) throw Unsupported("prediction_type \"sample\"");
    }

    public override string ClassName => "KDPM2DiscreteScheduler";
    public override int Order => 2;
    private protected override bool ReadsKarrasSigmas => true;

    public override TimestepSchedule Schedule(int steps) => Build(steps).Schedule;

    /// <summary>
    /// σ = [σ₀..σ_{N−1}, 0] expanded to σ₀, σ₁, σ₁, …, 0, 0, 0 (2N + 2 entries), the midpoints σ_mid,i = exp(lerp(ln σᵢ,
    /// ln σᵢ₋₁, ½)) expanded alike, and timesteps t₀, t_mid,1, t₁, t_mid,2, …, t_{N−1}.
    /// </summary>
    private (TimestepSchedule Schedule, float[] Midpoints) Build(int steps)
    {
        var (timesteps, grid) = SigmaGrid(steps, roundKarrasTimesteps: true);
        float[] sigmas = [.. grid.Select(s => (float)s), 0f];
        var midpoints = new float[sigmas.Length];
        for (int i = 0; i < sigmas.Length; i++)
        {
            float log = MathF.Log(sigmas[i]), previousLog = MathF.Log(sigmas[i == 0 ? ^1 : i - 1]);
            midpoints[i] = MathF.Exp(previousLog - (previousLog - log) * 0.5f); // torch.lerp with weight ½
        }
        float[] Expand(float[] v) => [v[0], .. v[1..].SelectMany(s => new[] { s, s }), v[^1]];
        var midTimesteps = midpoints.Select(s => SigmaTables.SigmaToTSingle(s, LogSigmas)).ToArray();
        float[] interleaved = [timesteps[0], .. Enumerable.Range(1, steps - 1).SelectMany(i => new[] { midTimesteps[i], timesteps[i] })];
        var expanded = Expand(sigmas);
        return (SigmaSchedule(steps, interleaved, expanded, InitNoiseSigma(expanded)), Expand(midpoints));
    }

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) =>
        new(this, schedule, options, Build(schedule.InferenceSteps).Midpoints);

    private protected override float InputSigma(State state) =>
        state.FirstSample is null ? state.Schedule.Sigmas[state.StepIndex] : state.Midpoints[state.StepIndex];

    private protected override void Plan(State state, StepPlan plan)
    {
        var sigmas = state.Schedule.Sigmas;
        int i = state.StepIndex;
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        if (state.FirstSample is not { } first)
        {
            float sigma = sigmas[i], midpoint = state.Midpoints[i + 1];
            var derivative = (x - Denoised(sigma, x, m)) / sigma;
            plan.Next(x + derivative * (midpoint - sigma));
            plan.Keep(x, state.SetFirstSample);
        }
        else
        {
            float sigma = sigmas[i - 1], midpoint = state.Midpoints[i], next = sigmas[i];
            var derivative = (x - Denoised(midpoint, x, m)) / midpoint;
            plan.Next(plan.Read(first) + derivative * (next - sigma));
            plan.Then(() => state.SetFirstSample(null));
        }
    }

    /// <summary>A KDPM2 run: the midpoint σ table and, between a step's two calls, the first call's sample.</summary>
    public sealed class State : SamplerState
    {
        private Tensor? _firstSample;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options, float[] midpoints)
            : base(scheduler, schedule, options) => Midpoints = midpoints;

        internal float[] Midpoints { get; }

        /// <summary>Set while a step's second call is pending (diffusers: not state_in_first_order).</summary>
        internal Tensor? FirstSample => _firstSample;

        internal void SetFirstSample(Tensor? sample) => Replace(ref _firstSample, sample);

        protected override void DisposeHistory() => Replace(ref _firstSample, null);
    }
}
