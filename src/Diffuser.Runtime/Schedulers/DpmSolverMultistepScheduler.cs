using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' DPMSolverMultistepScheduler: DPM-Solver++ 2M (the default algorithm_type dpmsolver++, solver_order 2;
/// with use_karras_sigmas the "DPM++ 2M Karras" sampler) or DPM-Solver 2M. Second order from the previous call's
/// converted output, first order for the first call and (lower_order_final) the last.
/// </summary>
public sealed class DpmSolverMultistepScheduler : DpmSolverFamily<DpmSolverMultistepScheduler.State>
{
    /// <summary>DPMSolverMultistepScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = DpmSolverFamilyDefaults.Common with
    {
        AlgorithmType = "dpmsolver++", SolverType = "midpoint", EulerAtFinal = false, UseLuLambdas = false,
        LambdaMinClipped = double.NegativeInfinity, TimestepSpacing = "linspace", StepsOffset = 0, RescaleBetasZeroSnr = false,
    };

    private readonly DpmSolverUpdate _update;

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public DpmSolverMultistepScheduler(SchedulerConfig config) : base(config, Defaults, readsSpacing: true, clipsLambda: true)
    {
        RejectEnabled((Config.UseLuLambdas, "use_lu_lambdas"), (Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        _update = DpmSolverUpdate.From(Config, ClassName);
    }

    public override string ClassName => "DPMSolverMultistepScheduler";

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(State state, StepPlan plan)
    {
        int i = state.StepIndex, calls = state.Schedule.Length;
        bool shortRun = Config.LowerOrderFinal == true && calls < 15;
        bool lowerOrderFinal = i == calls - 1 && (Config.EulerAtFinal == true || shortRun || Config.FinalSigmasType == "zero");
        var (x, m) = (TensorCombination.Sample, TensorCombination.Model);
        var current = At(state, i);
        var converted = _update.Convert(Prediction, current, x, m);
        var target = At(state, i + 1);
        if (SolverOrder == 1 || state.Previous is null || lowerOrderFinal)
            plan.Next(_update.Apply(target, current, x, converted, null));
        else
        {
            var previous = At(state, i - 1);
            float h = target.Lambda - current.Lambda, h0 = current.Lambda - previous.Lambda, r0 = h0 / h;
            var d1 = 1f / r0 * (converted - plan.Read(state.Previous));
            plan.Next(_update.Apply(target, current, x, converted, d1));
        }
        if (SolverOrder > 1) plan.Keep(converted, state.SetPrevious);
    }

    /// <summary>A DPM-Solver multistep run: the previous call's converted model output (from the second call on).</summary>
    public sealed class State : SamplerState
    {
        private Tensor? _previous;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options) : base(scheduler, schedule, options) { }

        internal Tensor? Previous => _previous;

        internal void SetPrevious(Tensor output) => Replace(ref _previous, output);

        protected override void DisposeHistory() => Replace(ref _previous, null);
    }
}
