namespace Diffuser.Schedulers;

/// <summary>αₜ = 1/√(σ² + 1), σₜ = σ·αₜ and λ = ln αₜ − ln σₜ of one σ, in fp32 as diffusers' _sigma_to_alpha_sigma_t.</summary>
internal readonly record struct AlphaSigma(float Alpha, float Sigma)
{
    public static AlphaSigma FromSigma(float sigma)
    {
        float alpha = 1f / MathF.Sqrt(sigma * sigma + 1);
        return new AlphaSigma(alpha, sigma * alpha);
    }

    /// <summary>Half the log-SNR (+∞ at σ = 0).</summary>
    public float Lambda => MathF.Log(Alpha) - MathF.Log(Sigma);
}

/// <summary>The constructor defaults DPMSolverMultistep, DPMSolverSinglestep and UniPCMultistep share.</summary>
internal static class DpmSolverFamilyDefaults
{
    public static SchedulerConfig Common { get; } = new()
    {
        NumTrainTimesteps = 1000, BetaStart = 0.0001, BetaEnd = 0.02, BetaSchedule = "linear", SolverOrder = 2,
        PredictionType = "epsilon", Thresholding = false, DynamicThresholdingRatio = 0.995, SampleMaxValue = 1.0,
        LowerOrderFinal = true, UseKarrasSigmas = false, UseExponentialSigmas = false, UseBetaSigmas = false,
        FinalSigmasType = "zero",
    };
}

/// <summary>
/// DPM-Solver (multistep and single-step) and UniPC: integer timesteps, a σ table interpolated (or Karras), updates
/// in λ = ln(α/σ) on the data prediction x₀ = (x − σₜ·ε)/αₜ, model input unscaled, add_noise = αₜ·x₀ + σₜ·ε.
/// </summary>
public abstract class DpmSolverFamily<TState> : Scheduler<TState> where TState : SamplerState
{
    private readonly float[] _trainingSigmas, _logSigmas;
    private readonly int _lastTimestep;

    /// <param name="readsSpacing">Whether the class has timestep_spacing (DPMSolverSinglestep always spaces by linspace).</param>
    /// <param name="clipsLambda">Whether the class has lambda_min_clipped (UniPC does not).</param>
    private protected DpmSolverFamily(SchedulerConfig config, SchedulerConfig classDefaults, bool readsSpacing, bool clipsLambda)
        : base(config, classDefaults)
    {
        Spacing = readsSpacing ? TimestepSpacings.Parse(Config.TimestepSpacing, TimestepSpacing.Linspace) : TimestepSpacing.Linspace;
        _lastTimestep = clipsLambda ? UnclippedLength() : Training.Length;
        _trainingSigmas = SigmaTables.Sigmas(Training);
        _logSigmas = SigmaTables.LogSigmas(_trainingSigmas);
        RejectEnabled((Config.Thresholding, "thresholding"), (Config.UseExponentialSigmas, "use_exponential_sigmas"),
            (Config.UseBetaSigmas, "use_beta_sigmas"));
        if (Config.SolverOrder is not (1 or 2)) throw Unsupported($"solver_order {Config.SolverOrder} (1 and 2 are)");
        SolverOrder = Config.SolverOrder.Value;
    }

    /// <summary>Maximum order of the solver (1 or 2).</summary>
    public int SolverOrder { get; }

    public TimestepSpacing Spacing { get; }

    /// <summary>
    /// Integer timesteps (N + 1 grid points up to the clipped end, the last dropped) and the σ table for them with the
    /// final σ: np.interp of the training σ, or Karras σ between the training extremes with rounded timesteps mapped back.
    /// </summary>
    public override TimestepSchedule Schedule(int steps)
    {
        TimestepSpacings.RequireSteps(steps, Training.Length);
        var grid = TimestepSpacings.GridWithoutFinal(Spacing, _lastTimestep, Training.Length, steps, Config.StepsOffset ?? 0);
        double[] sigmas;
        if (Config.UseKarrasSigmas == true)
        {
            sigmas = SigmaTables.Karras(_trainingSigmas[0], _trainingSigmas[^1], steps);
            grid = [.. sigmas.Select(s => NumPyArrays.Round(SigmaTables.SigmaToT(s, _logSigmas)))];
        }
        else sigmas = [.. grid.Select(t => NumPyArrays.Interp(t, _trainingSigmas))];
        float[] table = [.. sigmas.Select(s => (float)s), SigmaTables.FinalSigma(Config.FinalSigmasType!, _trainingSigmas[0])];
        return new TimestepSchedule(steps, [.. grid.Select(t => (float)t)], IntegerTimesteps: true, table, InitNoiseSigma: 1f);
    }

    /// <summary>
    /// T minus the number of training timesteps whose λ lies below lambda_min_clipped (diffusers clips the schedule there
    /// for the cosine schedule's sake; T when it is −∞).
    /// </summary>
    private int UnclippedLength()
    {
        double minimum = Config.LambdaMinClipped ?? double.NegativeInfinity;
        int clipped = Training.AlphasCumprod.Count(a => MathF.Log(MathF.Sqrt(a)) - MathF.Log(MathF.Sqrt(1f - a)) < minimum);
        return Training.Length - clipped;
    }

    /// <summary>α, σ of the σ table entry <paramref name="index"/>.</summary>
    private protected static AlphaSigma At(SamplerState state, int index) => AlphaSigma.FromSigma(state.Schedule.Sigmas[index]);

    /// <summary>The data prediction x₀ at the state's current σ (convert_model_output with algorithm dpmsolver++ / predict_x0).</summary>
    private protected TensorCombination DataPrediction(SamplerState state, TensorCombination x, TensorCombination m)
    {
        var (alpha, sigma) = At(state, state.StepIndex);
        return Parametrisation.DenoisedFromAlphaSigma(Prediction, alpha, sigma, x, m);
    }

    private protected sealed override (float Signal, float Noise) NoiseLevels(SamplerState state)
    {
        var (alpha, sigma) = At(state, state.StepIndex);
        return (alpha, sigma);
    }
}
