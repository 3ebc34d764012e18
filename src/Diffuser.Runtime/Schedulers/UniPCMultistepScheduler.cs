using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' UniPCMultistepScheduler (Zhao et al. 2023) with predict_x0 and solver_order ≤ 2: each call first
/// corrects the previous call's result with the new data prediction (UniC), then predicts the next sample (UniP,
/// B(h) = h for bh1 or e^h − 1 for bh2).
/// </summary>
public sealed class UniPCMultistepScheduler : DpmSolverFamily<UniPCMultistepScheduler.State>
{
    /// <summary>UniPCMultistepScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = DpmSolverFamilyDefaults.Common with
    {
        PredictX0 = true, SolverType = "bh2", DisableCorrector = [], TimestepSpacing = "linspace", StepsOffset = 0,
        RescaleBetasZeroSnr = false,
    };

    private readonly bool _bh2;

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public UniPCMultistepScheduler(SchedulerConfig config) : base(config, Defaults, readsSpacing: true, clipsLambda: false)
    {
        RejectEnabled((Config.RescaleBetasZeroSnr, "rescale_betas_zero_snr"));
        if (Config.PredictX0 != true) throw Unsupported("predict_x0=false");
        if (Config.SolverP is { ValueKind: not System.Text.Json.JsonValueKind.Null }) throw Unsupported("solver_p");
        _bh2 = Config.SolverType switch
        {
            "bh2" => true,
            "bh1" => false,
            var other => throw new DiffuserException($"{ClassName}: solver_type \"{other}\" is not one of bh1, bh2."),
        };
    }

    public override string ClassName => "UniPCMultistepScheduler";

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(State state, StepPlan plan)
    {
        int i = state.StepIndex;
        var x = TensorCombination.Sample;
        var x0 = DataPrediction(state, x, TensorCombination.Model);
        bool correct = i > 0 && state.LastSample is not null && !(Config.DisableCorrector ?? []).Contains(i - 1);
        var sample = correct ? Corrected(state, plan, x0) : x;

        int order = Config.LowerOrderFinal == true ? Math.Min(SolverOrder, state.Schedule.Length - i) : SolverOrder;
        order = Math.Min(order, state.LowerOrderNums + 1);
        var previousX0 = state.Outputs.Count > 0 ? plan.Read(state.Outputs[^1]) : TensorCombination.Zero;
        plan.Next(Predicted(state, sample, x0, previousX0, order));
        plan.Keep(x0, state.PushOutput);
        plan.Keep(sample, state.SetLastSample);
        plan.Then(() =>
        {
            state.LastOrder = order;
            state.LowerOrderNums = Math.Min(state.LowerOrderNums + 1, SolverOrder);
        });
    }

    /// <summary>UniP (multistep_uni_p_bh_update): from the (corrected) sample at call i to σᵢ₊₁.</summary>
    private TensorCombination Predicted(State state, TensorCombination sample, TensorCombination m0, TensorCombination previousM, int order)
    {
        int i = state.StepIndex;
        AlphaSigma t = At(state, i + 1), s0 = At(state, i);
        var (hPhi1, bh, _) = Phi(t.Lambda - s0.Lambda, order);
        var result = t.Sigma / s0.Sigma * sample - t.Alpha * hPhi1 * m0;
        if (order == 1) return result;
        float rk = (At(state, i - 1).Lambda - s0.Lambda) / (t.Lambda - s0.Lambda);
        var d1 = (previousM - m0) / rk;
        return result - t.Alpha * bh * (0.5f * d1); // order 2 uses ρ = ½
    }

    /// <summary>UniC (multistep_uni_c_bh_update): corrects the last sample (call i − 1 → i) with this call's x₀.</summary>
    private TensorCombination Corrected(State state, StepPlan plan, TensorCombination modelT)
    {
        int i = state.StepIndex, order = state.LastOrder;
        AlphaSigma t = At(state, i), s0 = At(state, i - 1);
        float h = t.Lambda - s0.Lambda;
        var (hPhi1, bh, b) = Phi(h, order);
        var m0 = plan.Read(state.Outputs[^1]);
        var last = plan.Read(state.LastSample!);
        var result = t.Sigma / s0.Sigma * last - t.Alpha * hPhi1 * m0;
        var d1t = modelT - m0;
        if (order == 1) return result - t.Alpha * bh * (0.5f * d1t);
        float rk = (At(state, i - 2).Lambda - s0.Lambda) / h;
        var d1 = (plan.Read(state.Outputs[^2]) - m0) / rk;
        // ρ solves [[1, 1], [rk, 1]]·ρ = b
        double rho0 = (b[0] - (double)b[1]) / (1 - rk), rho1 = b[0] - rho0;
        return result - t.Alpha * bh * ((float)rho0 * d1 + (float)rho1 * d1t);
    }

    /// <summary>h·φ₁(−h) = e^{−h} − 1, B(h) and the right-hand side bₖ = h·φₖ·k!/B(h), in fp32 as diffusers forms them.</summary>
    private (float HPhi1, float Bh, float[] B) Phi(float h, int order)
    {
        float hh = -h;
        float hPhi1 = (float)(Math.Exp(hh) - 1);
        float hPhiK = hPhi1 / hh - 1, bh = _bh2 ? hPhi1 : hh;
        var b = new float[order];
        int factorial = 1;
        for (int k = 1; k <= order; k++)
        {
            b[k - 1] = hPhiK * factorial / bh;
            factorial *= k + 1;
            hPhiK = hPhiK / hh - 1f / factorial;
        }
        return (hPhi1, bh, b);
    }

    /// <summary>A UniPC run: the last two data predictions, the last (corrected) sample and the warm-up order.</summary>
    public sealed class State : SamplerState
    {
        private readonly TensorHistory _outputs = new(2);
        private Tensor? _lastSample;

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options) : base(scheduler, schedule, options) { }

        internal TensorHistory Outputs => _outputs;
        internal Tensor? LastSample => _lastSample;
        internal int LowerOrderNums { get; set; }
        internal int LastOrder { get; set; } = 1;

        internal void PushOutput(Tensor x0) => _outputs.Push(x0);

        internal void SetLastSample(Tensor sample) => Replace(ref _lastSample, sample);

        protected override void DisposeHistory()
        {
            _outputs.Dispose();
            Replace(ref _lastSample, null);
        }
    }
}
