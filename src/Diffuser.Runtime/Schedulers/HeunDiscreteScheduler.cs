using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' HeunDiscreteScheduler (Karras et al. 2022, algorithm 1): each inference step is an Euler step to
/// σ_next (first call) and a correction that averages the slopes at σ and σ_next (second call), so the run makes
/// 2N − 1 model calls (the last step is Euler only).
/// </summary>
public sealed class HeunDiscreteScheduler : SigmaScheduler<HeunDiscreteScheduler.State>
{
    /// <summary>HeunDiscreteScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "linear", PredictionType = "epsilon",
        UseKarrasSigmas = false, UseExponentialSigmas = false, UseBetaSigmas = false, ClipSample = false,
        ClipSampleRange = 1.0, TimestepSpacing = "linspace", StepsOffset = 0,
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public HeunDiscreteScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        RejectSigmaOptions();
        RejectEnabled((Config.ClipSample, "clip_sample"));
    }

    public override string ClassName => "HeunDiscreteScheduler";
    public override int Order => 2;
    private protected override bool ReadsKarrasSigmas => true;

    /// <summary>Timesteps t₀, t₁, t₁, …, t_{N−1}, t_{N−1}; σ table σ₀, σ₁, σ₁, …, σ_{N−1}, σ_{N−1}, 0.</summary>
    public override TimestepSchedule Schedule(int steps)
    {
        var (timesteps, sigmas) = SigmaGrid(steps, roundKarrasTimesteps: false);
        float[] table = [.. sigmas.Select(s => (float)s), 0f];
        float[] doubledSigmas = [table[0], .. table[1..^1].SelectMany(s => new[] { s, s }), table[^1]];
        float[] doubledTimesteps = [timesteps[0], .. timesteps[1..].SelectMany(t => new[] { t, t })];
        return SigmaSchedule(steps, doubledTimesteps, doubledSigmas, InitNoiseSigma(doubledSigmas));
    }

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(State state, StepPlan plan)
    {
        var sigmas = state.Schedule.Sigmas;
        int i = state.StepIndex;
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        if (state.PendingCorrection is not { } first)
        {
            float sigma = sigmas[i], next = sigmas[i + 1], dt = next - sigma;
            var derivative = (x - Denoised(sigma, x, m)) / sigma;
            plan.Next(x + derivative * dt);
            plan.Keep(derivative, d => state.BeginCorrection(d, dt));
            plan.Keep(x, state.SetFirstSample);
        }
        else
        {
            // the slope at σ_next (sigmas[i]) averaged with the first call's, applied from the first call's sample
            float sigmaNext = sigmas[i];
            var derivative = (x - Denoised(sigmaNext, x, m)) / sigmaNext;
            var averaged = (plan.Read(first.Derivative) + derivative) / 2;
            plan.Next(plan.Read(first.Sample) + averaged * state.Dt);
            plan.Then(state.EndCorrection);
        }
    }

    /// <summary>A Heun run: between the two calls of a step, the first call's slope, sample and Δσ.</summary>
    public sealed class State : SamplerState
    {
        private Tensor? _derivative, _sample;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options) : base(scheduler, schedule, options) { }

        internal float Dt { get; private set; }

        /// <summary>The first call's results while the second call is pending, else null (diffusers' state_in_first_order).</summary>
        internal (Tensor Derivative, Tensor Sample)? PendingCorrection => _derivative is not null && _sample is not null ? (_derivative, _sample) : null;

        internal void BeginCorrection(Tensor derivative, float dt)
        {
            Replace(ref _derivative, derivative);
            Dt = dt;
        }

        internal void SetFirstSample(Tensor sample) => Replace(ref _sample, sample);

        internal void EndCorrection() => DisposeHistory();

        protected override void DisposeHistory()
        {
            Replace(ref _derivative, null);
            Replace(ref _sample, null);
        }
    }
}
