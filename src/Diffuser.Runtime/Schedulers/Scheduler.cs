using Diffuser.Backends;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// A diffusers noise scheduler. The object is immutable (built from scheduler_config.json); a sampling run's state
/// lives in the <see cref="SamplerState"/> that <see cref="Begin"/> returns. The loop, exactly as diffusers' pipelines:
/// <code>
/// using var state = scheduler.Begin(steps, options);
/// latents = noise · state.Schedule.InitNoiseSigma
/// while (!state.IsComplete)
///     input = ScaleModelInput(latents)          // then [input, input] for classifier-free guidance
///     output = unet(input, state.Timestep)     // [B] or [uncond B, cond B]
///     latents = Step(output, latents, guidance) // guidance + parametrisation + update: one fused pass
/// </code>
/// </summary>
public abstract class Scheduler
{
    private protected Scheduler(SchedulerConfig config, SchedulerConfig classDefaults)
    {
        Config = config.WithDefaults(classDefaults);
        Training = TrainingSchedule.From(Config);
        Prediction = Parametrisation.Parse(Config.PredictionType);
    }

    /// <summary>The resolved config: the file's values over this class's defaults.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>The diffusers class this scheduler reproduces, e.g. "EulerDiscreteScheduler".</summary>
    public abstract string ClassName { get; }

    /// <summary>βₜ and ᾱₜ of the training schedule the config describes.</summary>
    public TrainingSchedule Training { get; }

    /// <summary>What the model predicts (prediction_type).</summary>
    public PredictionType Prediction { get; }

    /// <summary>diffusers' scheduler.order: model calls per inference step (2 for Heun and KDPM2).</summary>
    public virtual int Order => 1;

    /// <summary>The timesteps and σ table for <paramref name="steps"/> inference steps.</summary>
    public abstract TimestepSchedule Schedule(int steps);

    /// <summary>Starts a sampling run of <paramref name="steps"/> inference steps.</summary>
    public SamplerState Begin(int steps, SamplerOptions? options = null)
    {
        options ??= new SamplerOptions();
        var schedule = Schedule(steps);
        if (options.BeginIndex < 0 || options.BeginIndex >= schedule.Length)
            throw new DiffuserException($"Begin index {options.BeginIndex} is outside the {schedule.Length} model calls of {ClassName} with {steps} steps.");
        return CreateState(schedule, options);
    }

    /// <summary>
    /// Where img2img starts for a denoising <paramref name="strength"/> in [0, 1], as diffusers' get_timesteps:
    /// t_start = N − min(⌊N·strength⌋, N), begin index = t_start·<see cref="Order"/>.
    /// </summary>
    public int BeginIndexForStrength(int steps, double strength)
    {
        if (!(strength >= 0 && strength <= 1)) throw new DiffuserException($"Strength must be in [0, 1], got {strength}.");
        int initTimestep = Math.Min((int)(steps * strength), steps);
        return Math.Max(steps - initTimestep, 0) * Order;
    }

    /// <summary>The factor <see cref="ScaleModelInput"/> applies at the state's next call (1 for most schedulers).</summary>
    public float ModelInputScale(SamplerState state)
    {
        RequireRunning(state);
        return InputScale(state);
    }

    private protected virtual float InputScale(SamplerState state) => 1f;

    /// <summary>
    /// The UNet input for the next call: the sample scaled by <see cref="ModelInputScale"/> (a new tensor; a copy when
    /// the scale is 1, so callers that want to skip the copy can test <see cref="ModelInputScale"/> first).
    /// </summary>
    public Tensor ScaleModelInput(Backend backend, SamplerState state, Tensor sample)
    {
        float scale = ModelInputScale(state);
        return scale == 1f ? backend.Clone(sample) : backend.Affine(sample, scale);
    }

    /// <summary>
    /// One step: combines the model output (classifier-free guidance when it holds twice the sample's batch,
    /// [uncond, cond]), converts it with the prediction type and applies this scheduler's update, in one fused pass.
    /// Advances the state and returns the next sample (a new tensor). The step runs in fp32: a model output of another
    /// dtype (an fp16 UNet's) is converted first; the sample and the history are fp32.
    /// </summary>
    public Tensor Step(Backend backend, SamplerState state, Tensor modelOutput, Tensor sample, float guidanceScale = 1f)
    {
        RequireRunning(state);
        var plan = new StepPlan();
        PlanStep(state, plan);
        using var noise = plan.UsesNoise ? state.DrawNoise(backend, sample.Shape) : null;
        using var output32 = modelOutput.DType == DType.F32 ? null : backend.Convert(modelOutput, DType.F32);
        var next = plan.Run(backend, sample, output32 ?? modelOutput, noise, guidanceScale);
        state.StepIndex++;
        return next;
    }

    /// <summary>
    /// Noises clean latents to the state's current point (img2img / inpainting, before or between steps), as the
    /// scheduler's add_noise with set_begin_index: signal·<paramref name="original"/> + level·<paramref name="noise"/>.
    /// </summary>
    public Tensor AddNoise(Backend backend, SamplerState state, Tensor original, Tensor noise)
    {
        RequireRunning(state);
        var (signal, level) = NoiseLevels(state);
        return ApplyNoise(backend, original, noise, signal, level);
    }

    /// <summary>signal·original + level·noise in one pass (fp32, as torch's add_noise).</summary>
    private protected static Tensor ApplyNoise(Backend backend, Tensor original, Tensor noise, float signal, float level)
    {
        var row = (signal * TensorCombination.Sample + level * TensorCombination.Noise).ToRow();
        return backend.SamplerStep(original, null, [], noise, new SamplerCoefficients(1f, row, default, default), 1)[0];
    }

    /// <summary>The (signal, noise) scales of add_noise at the state's current call, as fp32 values.</summary>
    private protected abstract (float Signal, float Noise) NoiseLevels(SamplerState state);

    private protected abstract SamplerState CreateState(TimestepSchedule schedule, SamplerOptions options);

    private protected abstract void PlanStep(SamplerState state, StepPlan plan);

    private void RequireRunning(SamplerState state)
    {
        if (!ReferenceEquals(state.Scheduler, this))
            throw new DiffuserException($"This sampler state belongs to {state.Scheduler.ClassName}, not to this {ClassName}.");
        if (state.IsComplete)
            throw new DiffuserException($"The {ClassName} run is complete: all {state.Schedule.Length} model calls are done.");
    }

    private protected DiffuserException Unsupported(string what) =>
        new($"{ClassName}: {what} is not supported by this engine.");

    /// <summary>Fails for each named option the config switches on (options of this class this engine does not implement).</summary>
    private protected void RejectEnabled(params (bool? Value, string Name)[] options)
    {
        foreach (var (value, name) in options)
            if (value == true) throw Unsupported($"{name}=true");
    }
}

/// <summary>A scheduler whose runs keep a <typeparamref name="TState"/>.</summary>
public abstract class Scheduler<TState> : Scheduler where TState : SamplerState
{
    private protected Scheduler(SchedulerConfig config, SchedulerConfig classDefaults) : base(config, classDefaults) { }

    private protected sealed override void PlanStep(SamplerState state, StepPlan plan) => Plan((TState)state, plan);

    /// <summary>Describes the step at the state's current call: the history it reads, the next sample and what to keep.</summary>
    private protected abstract void Plan(TState state, StepPlan plan);
}
