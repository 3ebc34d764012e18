namespace Diffuser.Schedulers;

/// <summary>
/// The k-diffusion-style schedulers (Euler, Euler ancestral, Heun, LMS, KDPM2): a σ schedule interpolated from the
/// training σ table at fp32 timesteps, the model input scaled by 1/√(σ² + 1), x₀ = c_skip·x + c_out·m, and
/// add_noise = x₀ + σ·ε.
/// </summary>
public abstract class SigmaScheduler<TState> : Scheduler<TState> where TState : SamplerState
{
    private readonly float[] _trainingSigmas;

    private protected SigmaScheduler(SchedulerConfig config, SchedulerConfig classDefaults) : base(config, classDefaults)
    {
        Spacing = TimestepSpacings.Parse(Config.TimestepSpacing, TimestepSpacing.Linspace);
        StepsOffset = Config.StepsOffset ?? 0;
        _trainingSigmas = SigmaTables.Sigmas(Training);
        LogSigmas = SigmaTables.LogSigmas(_trainingSigmas);
    }

    public TimestepSpacing Spacing { get; }
    public int StepsOffset { get; }

    /// <summary>Whether this class reads use_karras_sigmas (Euler ancestral does not).</summary>
    private protected abstract bool ReadsKarrasSigmas { get; }

    /// <summary>ln σ of the training table, fp32.</summary>
    private protected float[] LogSigmas { get; }

    /// <summary>σ of the training timestep 0 (the smallest).</summary>
    private protected float SmallestTrainingSigma => _trainingSigmas[0];

    /// <summary>
    /// The N timesteps (fp32) and their σ (float64, before the final σ is appended): the spacing grid and np.interp of
    /// the training σ table, or Karras σ between the grid's extremes and timesteps mapped back from them.
    /// </summary>
    private protected (float[] Timesteps, double[] Sigmas) SigmaGrid(int steps, bool roundKarrasTimesteps, double? sigmaMin = null, double? sigmaMax = null)
    {
        TimestepSpacings.RequireSteps(steps, Training.Length);
        var timesteps = TimestepSpacings.Grid(Spacing, Training.Length, steps, StepsOffset).Select(t => (float)t).ToArray();
        var sigmas = timesteps.Select(t => NumPyArrays.Interp(t, _trainingSigmas)).ToArray();
        if (!(ReadsKarrasSigmas && Config.UseKarrasSigmas == true)) return (timesteps, sigmas);
        sigmas = SigmaTables.Karras(sigmaMin ?? sigmas[^1], sigmaMax ?? sigmas[0], steps);
        var karrasTimesteps = sigmas.Select(s => SigmaTables.SigmaToT(s, LogSigmas)).Select(t => (float)(roundKarrasTimesteps ? NumPyArrays.Round(t) : t));
        return ([.. karrasTimesteps], sigmas);
    }

    /// <summary>The initial noise scale: max σ for linspace and trailing spacing, else √(max σ² + 1).</summary>
    private protected float InitNoiseSigma(IEnumerable<float> sigmas)
    {
        float max = sigmas.Max();
        return Spacing is TimestepSpacing.Linspace or TimestepSpacing.Trailing ? max : MathF.Sqrt(max * max + 1);
    }

    private protected static TimestepSchedule SigmaSchedule(int steps, float[] timesteps, float[] sigmas, float initNoiseSigma) =>
        new(steps, timesteps, IntegerTimesteps: false, sigmas, initNoiseSigma);

    /// <summary>One model call per timestep of <see cref="SigmaGrid"/>, the σ table ending in <paramref name="finalSigma"/>.</summary>
    private protected TimestepSchedule OneCallPerStep(int steps, float finalSigma, double? sigmaMin = null, double? sigmaMax = null)
    {
        var (timesteps, sigmas) = SigmaGrid(steps, roundKarrasTimesteps: false, sigmaMin, sigmaMax);
        float[] table = [.. sigmas.Select(s => (float)s), finalSigma];
        return SigmaSchedule(steps, timesteps, table, InitNoiseSigma(table));
    }

    /// <summary>The σ the model input is scaled with at the state's next call (the σ table entry by default).</summary>
    private protected virtual float InputSigma(TState state) => state.Schedule.Sigmas[state.StepIndex];

    private protected sealed override float InputScale(SamplerState state)
    {
        float sigma = InputSigma((TState)state);
        return 1f / MathF.Sqrt(sigma * sigma + 1);
    }

    private protected sealed override (float Signal, float Noise) NoiseLevels(SamplerState state) => (1f, state.Schedule.Sigmas[state.StepIndex]);

    /// <summary>x₀ from σ-scaled model output.</summary>
    private protected TensorCombination Denoised(float sigma, TensorCombination x, TensorCombination m) =>
        Parametrisation.DenoisedFromSigma(Prediction, sigma, x, m);

    /// <summary>Fails for options of the k-diffusion family this engine does not implement.</summary>
    private protected void RejectSigmaOptions() =>
        RejectEnabled((Config.UseExponentialSigmas, "use_exponential_sigmas"), (Config.UseBetaSigmas, "use_beta_sigmas"));
}
