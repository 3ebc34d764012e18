using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' DPMSolverSinglestepScheduler (DPM-Solver++ 2S without noise): steps come in (first order, second order)
/// pairs; the first call of a pair keeps its sample and the second goes from that sample with both calls' outputs.
/// The order of each call follows diffusers' get_order_list (lower_order_final; the last call first order when the
/// final σ is zero).
/// </summary>
public sealed class DpmSolverSinglestepScheduler : DpmSolverFamily<DpmSolverSinglestepScheduler.State>
{
    /// <summary>DPMSolverSinglestepScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = DpmSolverFamilyDefaults.Common with
    {
        AlgorithmType = "dpmsolver++", SolverType = "midpoint", LambdaMinClipped = double.NegativeInfinity,
    };

    private readonly DpmSolverUpdate _update;

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public DpmSolverSinglestepScheduler(SchedulerConfig config) : base(config, Defaults, readsSpacing: false, clipsLambda: true) =>
        _update = DpmSolverUpdate.From(Config, ClassName);

    public override string ClassName => "DPMSolverSinglestepScheduler";

    /// <summary>The solver order of each call (get_order_list).</summary>
    public IReadOnlyList<int> Orders(int steps)
    {
        // lower_order_final is forced on when the final σ is zero, as set_timesteps does
        bool lowerOrderFinal = Config.LowerOrderFinal == true || Config.FinalSigmasType == "zero" || steps % SolverOrder != 0;
        var orders = SolverOrder == 1 ? Enumerable.Repeat(1, steps).ToList()
            : lowerOrderFinal
                ? steps % 2 == 0 ? [.. Repeat([1, 2], steps / 2 - 1), 1, 1] : [.. Repeat([1, 2], steps / 2), 1]
                : [.. Repeat([1, 2], steps / 2)];
        if (Config.FinalSigmasType == "zero") orders[^1] = 1;
        return orders;
    }

    private static IEnumerable<int> Repeat(int[] pattern, int times) => Enumerable.Repeat(pattern, times).SelectMany(p => p);

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) =>
        new(this, schedule, options, Orders(schedule.InferenceSteps));

    private protected override void Plan(State state, StepPlan plan)
    {
        int i = state.StepIndex;
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        var current = At(state, i);
        var converted = _update.Convert(Prediction, current, x, m);
        var target = At(state, i + 1);
        // img2img may start on a second-order call with no earlier output: fall back to first order
        int order = state.Orders[i] == 2 && state.Previous is not null && state.PairSample is not null ? 2 : 1;
        if (order == 1)
        {
            plan.Next(_update.Apply(target, current, x, converted, null));
            plan.Keep(x, state.SetPairSample);
        }
        else
        {
            var start = At(state, i - 1);
            var previous = plan.Read(state.Previous!);
            float h = target.Lambda - start.Lambda, h0 = current.Lambda - start.Lambda, r0 = h0 / h;
            var d1 = 1f / r0 * (converted - previous);
            plan.Next(_update.Apply(target, start, plan.Read(state.PairSample!), previous, d1));
        }
        if (SolverOrder > 1) plan.Keep(converted, state.SetPrevious);
    }

    /// <summary>A single-step run: the order list, the previous converted output and the sample a pair started from.</summary>
    public sealed class State : SamplerState
    {
        private Tensor? _previous, _pairSample;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options, IReadOnlyList<int> orders)
            : base(scheduler, schedule, options) => Orders = orders;

        internal IReadOnlyList<int> Orders { get; }
        internal Tensor? Previous => _previous;
        internal Tensor? PairSample => _pairSample;

        internal void SetPrevious(Tensor output) => Replace(ref _previous, output);
        internal void SetPairSample(Tensor sample) => Replace(ref _pairSample, sample);

        protected override void DisposeHistory()
        {
            Replace(ref _previous, null);
            Replace(ref _pairSample, null);
        }
    }
}
