using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' LMSDiscreteScheduler (k-diffusion's sample_lms): a linear multistep method of order up to 4 over the
/// ODE slopes d = (x − x₀)/σ, with coefficients ∫ of the Lagrange basis polynomials over [σᵢ, σᵢ₊₁]
/// (<see cref="GaussKronrod"/>, as scipy.integrate.quad with epsrel 1e-4).
/// </summary>
public sealed class LmsDiscreteScheduler : SigmaScheduler<LmsDiscreteScheduler.State>
{
    /// <summary>The step's order argument in diffusers (default 4).</summary>
    public const int MaxOrder = 4;

    /// <summary>LMSDiscreteScheduler.__init__'s defaults.</summary>
    public static SchedulerConfig Defaults { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", UseKarrasSigmas = false,
        UseExponentialSigmas = false, UseBetaSigmas = false, PredictionType = "epsilon", TimestepSpacing = "linspace",
        StepsOffset = 0,
    };

    /// <summary>Builds the scheduler from scheduler_config.json values; keys it lacks take this class's <see cref="Defaults"/>.</summary>
    public LmsDiscreteScheduler(SchedulerConfig config) : base(config, Defaults) => RejectSigmaOptions();

    public override string ClassName => "LMSDiscreteScheduler";
    private protected override bool ReadsKarrasSigmas => true;

    public override TimestepSchedule Schedule(int steps) => OneCallPerStep(steps, finalSigma: 0f);

    private protected override State CreateState(TimestepSchedule schedule, SamplerOptions options) => new(this, schedule, options);

    private protected override void Plan(State state, StepPlan plan)
    {
        var sigmas = state.Schedule.Sigmas;
        int i = state.StepIndex;
        float sigma = sigmas[i];
        var x = TensorCombination.Sample;
        var derivative = (x - Denoised(sigma, x, TensorCombination.Model)) / sigma;
        // newest first: this step's slope, then the kept ones (diffusers zips the coefficients with what it has)
        var slopes = new List<TensorCombination> { derivative };
        slopes.AddRange(state.DerivativesNewestFirst.Select(plan.Read));
        int order = Math.Min(i + 1, MaxOrder);
        var next = x;
        for (int k = 0; k < Math.Min(order, slopes.Count); k++) next += Coefficient(sigmas, order, i, k) * slopes[k];
        plan.Next(next);
        plan.Keep(derivative, state.PushDerivative);
    }

    /// <summary>∫_{σᵢ}^{σᵢ₊₁} Π_{j≠k} (τ − σ_{i−j})/(σ_{i−k} − σ_{i−j}) dτ: the weight of the slope from k steps back.</summary>
    private static double Coefficient(IReadOnlyList<float> sigmas, int order, int i, int k)
    {
        double Basis(double tau)
        {
            double product = 1;
            for (int j = 0; j < order; j++)
                if (j != k) product *= (tau - sigmas[i - j]) / ((double)sigmas[i - k] - sigmas[i - j]);
            return product;
        }
        return GaussKronrod.Integrate(Basis, sigmas[i], sigmas[i + 1], epsRel: 1e-4);
    }

    /// <summary>An LMS run: the slopes of the last three calls.</summary>
    public sealed class State : SamplerState
    {
        private readonly TensorHistory _derivatives = new(MaxOrder - 1);

        internal State(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options) : base(scheduler, schedule, options) { }

        internal IEnumerable<Tensor> DerivativesNewestFirst => _derivatives.NewestFirst;

        internal void PushDerivative(Tensor derivative) => _derivatives.Push(derivative);

        protected override void DisposeHistory() => _derivatives.Dispose();
    }
}
