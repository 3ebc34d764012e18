using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>A scheduler that can noise to any training timestep (training-style add_noise).</summary>
public interface IDiscreteTimeScheduler
{
    /// <summary>
    /// Noises <paramref name="original"/> to training timestep <paramref name="timestep"/> (diffusers' add_noise with
    /// that timestep): √ᾱₜ·x₀ + √(1 − ᾱₜ)·ε.
    /// </summary>
    Tensor AddNoise(Backend backend, Tensor original, Tensor noise, int timestep);
}

/// <summary>
/// DDIM, DDPM and PNDM: integer timesteps, updates written with ᾱₜ of the training schedule, model input unscaled,
/// add_noise = √ᾱₜ·x₀ + √(1 − ᾱₜ)·ε.
/// </summary>
public abstract class DiscreteTimeScheduler<TState> : Scheduler<TState>, IDiscreteTimeScheduler where TState : SamplerState
{
    private protected DiscreteTimeScheduler(SchedulerConfig config, SchedulerConfig classDefaults) : base(config, classDefaults)
    {
        Spacing = TimestepSpacings.Parse(Config.TimestepSpacing, TimestepSpacing.Leading);
        StepsOffset = Config.StepsOffset ?? 0;
    }

    public TimestepSpacing Spacing { get; }
    public int StepsOffset { get; }
    private protected int TrainSteps => Training.Length;

    /// <inheritdoc/>
    public Tensor AddNoise(Backend backend, Tensor original, Tensor noise, int timestep)
    {
        if (timestep < 0 || timestep >= TrainSteps) throw new DiffuserException($"Timestep {timestep} is outside [0, {TrainSteps}).");
        var (signal, level) = LevelsAt(timestep);
        return ApplyNoise(backend, original, noise, signal, level);
    }

    private protected sealed override (float Signal, float Noise) NoiseLevels(SamplerState state) => LevelsAt((int)state.Timestep);

    private (float, float) LevelsAt(int t) => (MathF.Sqrt(Training.AlphasCumprod[t]), MathF.Sqrt(1f - Training.AlphasCumprod[t]));

    /// <summary>The N inference timesteps as integers, descending (linspace rounded half to even).</summary>
    private protected double[] IntegerTimesteps(int steps)
    {
        TimestepSpacings.RequireSteps(steps, TrainSteps);
        return [.. TimestepSpacings.Grid(Spacing, TrainSteps, steps, StepsOffset).Select(NumPyArrays.Round)];
    }

    private protected static TimestepSchedule IntegerSchedule(int steps, IEnumerable<double> timesteps) =>
        new(steps, [.. timesteps.Select(t => (float)t)], IntegerTimesteps: true, Sigmas: [], InitNoiseSigma: 1f);

    /// <summary>ᾱ at <paramref name="t"/>, or <paramref name="beforeStart"/> for t &lt; 0 (the step past the last).</summary>
    private protected float AlphaProd(int t, float beforeStart) => t >= 0 ? Training.AlphasCumprod[t] : beforeStart;
}
