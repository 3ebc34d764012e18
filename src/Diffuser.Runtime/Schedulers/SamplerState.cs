using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// The state of one sampling run: the schedule, the index of the next model call and whatever history the scheduler
/// keeps (device tensors owned by the state; dispose it after the run). A scheduler object holds none of this, so
/// one scheduler serves any number of runs at once.
/// </summary>
public class SamplerState : IDisposable
{
    internal SamplerState(Scheduler scheduler, TimestepSchedule schedule, SamplerOptions options)
    {
        Scheduler = scheduler;
        Schedule = schedule;
        Options = options;
        StepIndex = options.BeginIndex;
    }

    /// <summary>The scheduler that began this run (the only one that may step it).</summary>
    public Scheduler Scheduler { get; }

    /// <summary>The run's timesteps, σ table and initial noise scale.</summary>
    public TimestepSchedule Schedule { get; }

    public SamplerOptions Options { get; }

    /// <summary>Index of the next model call in <see cref="TimestepSchedule.Timesteps"/>.</summary>
    public int StepIndex { get; internal set; }

    /// <summary>True once every model call of the schedule has been stepped.</summary>
    public bool IsComplete => StepIndex >= Schedule.Length;

    /// <summary>The timestep to give the model at the next call.</summary>
    public float Timestep => IsComplete
        ? throw new DiffuserException($"The sampling run is complete ({Schedule.Length} model calls); there is no next timestep.")
        : Schedule.Timesteps[StepIndex];

    /// <summary>Model calls left in this run.</summary>
    public int RemainingCalls => Schedule.Length - StepIndex;

    /// <summary>Noise for the current step (draw <c>FirstNoiseDraw + StepIndex</c>).</summary>
    internal Tensor DrawNoise(Backend backend, TensorShape shape)
    {
        var source = Options.Noise ?? throw new DiffuserException(
            $"{Scheduler.ClassName} step {StepIndex} is stochastic and needs a noise source (SamplerOptions.Noise).");
        var noise = source.Normal(backend, shape, Options.FirstNoiseDraw + StepIndex);
        if (!noise.Shape.Equals(shape))
        {
            noise.Dispose();
            throw new DiffuserException($"The noise source returned {noise.Shape} for a sample of shape {shape}.");
        }
        return noise;
    }

    /// <summary>Stores <paramref name="value"/> in a history slot, disposing what it held.</summary>
    protected static void Replace(ref Tensor? slot, Tensor? value)
    {
        if (ReferenceEquals(slot, value)) return;
        slot?.Dispose();
        slot = value;
    }

    /// <summary>Disposes the history tensors.</summary>
    protected virtual void DisposeHistory() { }

    public void Dispose()
    {
        DisposeHistory();
        GC.SuppressFinalize(this);
    }
}
