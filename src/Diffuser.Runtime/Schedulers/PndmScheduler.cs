using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' PNDMScheduler with skip_prk_steps (PLMS, Liu et al. 2022): a linear multistep method over the last
/// four model outputs with a doubled second timestep to warm up (N + 1 model calls). The Runge–Kutta warm-up
/// (skip_prk_steps=false) is not implemented.
/// </summary>
public sealed class PndmScheduler : DiscreteTimeScheduler<PndmScheduler.State>
{
    /// <summary>PNDMScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", SkipPrkSteps = false,
        SetAlphaToOne = false, PredictionType = "epsilon", TimestepSpacing = "leading", StepsOffset = 0,
    };

    private readonly float _finalAlphaProd;

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public PndmScheduler(SchedulerConfig config) : base(config, Defaults)
    {
        if (Config.SkipPrkSteps != true) throw Unsupported("skip_prk_steps=false (the Runge–Kutta warm-up)");
        if (Prediction == PredictionType.Sample) throw Unsupported("prediction_type \"sample\"");
        _finalAlphaProd = Config.SetAlphaToOne == true ? 1f : Training.AlphasCumprod[0];
    }

    public override string ClassName => "PNDMScheduler";

    /// <summary>The PLMS run: the ascending grid a₀ … a_{N−1} becomes a_{N−1}, a_{N−2}, a_{N−2}, a_{N−3}, …, a₀.</summary>
    public override TimestepSchedule Schedule(int steps)
    {
        var ascending = IntegerTimesteps(steps).Reverse().ToArray();
        var plms = ascending[..^1].Concat(ascending[Math.Max(ascending.Length - 2, 0)..^1]).Concat(ascending[^1..]).Reverse();
        return IntegerSchedule(steps, plms);
    }

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(State state, StepPlan plan)
    {
        int ratio = TrainSteps / state.Schedule.InferenceSteps;
        int t = (int)state.Timestep, previous = t - ratio;
        var x = TensorCombination.Sample;
        var m = TensorCombination.Model;
        var history = state.Outputs.OldestFirst.Select(plan.Read).ToList();
        var sampleUsed = x;
        TensorCombination combined;
        if (state.Counter == 1)
        {
            // the doubled timestep: average with the first output and restart from the first call's sample
            (previous, t) = (t, t + ratio);
            combined = (m + history[^1]) / 2;
            sampleUsed = plan.Read(state.FirstSample!);
        }
        else
        {
            var e = history.Append(m).ToList();
            combined = e.Count switch
            {
                1 => m,
                2 => (3 * e[^1] - e[^2]) / 2,
                3 => (23 * e[^1] - 16 * e[^2] + 5 * e[^3]) / 12,
                _ => 1.0 / 24 * (55 * e[^1] - 59 * e[^2] + 37 * e[^3] - 9 * e[^4]),
            };
        }
        plan.Next(PreviousSample(sampleUsed, t, previous, combined));
        if (state.Counter != 1) plan.Keep(m, state.PushOutput);
        if (state.Counter == 0) plan.Keep(x, state.SetFirstSample);
        plan.Then(() => state.Counter++);
    }

    /// <summary>Formula (9) of the PNDM paper: x_prev from xₜ and the combined noise estimate.</summary>
    private TensorCombination PreviousSample(TensorCombination sample, int t, int previous, TensorCombination modelOutput)
    {
        float alphaProd = Training.AlphasCumprod[t], alphaProdPrev = AlphaProd(previous, _finalAlphaProd);
        float betaProd = 1f - alphaProd, betaProdPrev = 1f - alphaProdPrev;
        if (Prediction == PredictionType.VPrediction)
            modelOutput = MathF.Sqrt(alphaProd) * modelOutput + MathF.Sqrt(betaProd) * sample;
        float sampleCoefficient = MathF.Sqrt(alphaProdPrev / alphaProd);
        float denominator = alphaProd * MathF.Sqrt(betaProdPrev) + MathF.Sqrt(alphaProd * betaProd * alphaProdPrev);
        return sampleCoefficient * sample - (alphaProdPrev - alphaProd) * modelOutput / denominator;
    }

    /// <summary>A PLMS run: the last three model outputs, the first call's sample and the call counter.</summary>
    public sealed class State : SamplerState
    {
        private readonly TensorHistory _outputs = new(3);
        private Tensor? _firstSample;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options) : base(scheduler, schedule, options) { }

        internal TensorHistory Outputs => _outputs;
        internal Tensor? FirstSample => _firstSample;
        internal int Counter { get; set; }

        internal void PushOutput(Tensor output) => _outputs.Push(output);

        internal void SetFirstSample(Tensor sample) => Replace(ref _firstSample, sample);

        protected override void DisposeHistory()
        {
            _outputs.Dispose();
            Replace(ref _firstSample, null);
        }
    }
}
