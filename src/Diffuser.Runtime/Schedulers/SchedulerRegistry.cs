namespace Diffuser.Schedulers;

/// <summary>
/// Schedulers by the names people use: diffusers class names and the A1111 / k-diffusion sampler names. A name picks
/// a class and the config overrides that make it that sampler (e.g. <c>dpm++_2m_karras</c> is DPMSolverMultistep
/// with use_karras_sigmas), applied over the model's own scheduler_config.json, as
/// <c>Cls.from_config(pipe.scheduler.config, **overrides)</c> does.
/// </summary>
public static class SchedulerRegistry
{
    private sealed record Entry(Func<SchedulerConfig, Scheduler> Create, Func<SchedulerConfig, SchedulerConfig> Override);

    private static readonly Func<SchedulerConfig, SchedulerConfig> AsIs = c => c;

    private static readonly Dictionary<string, Func<SchedulerConfig, Scheduler>> Classes = new(StringComparer.Ordinal)
    {
        ["DDIMScheduler"] = c => new DdimScheduler(c),
        ["DDPMScheduler"] = c => new DdpmScheduler(c),
        ["PNDMScheduler"] = c => new PndmScheduler(c),
        ["EulerDiscreteScheduler"] = c => new EulerDiscreteScheduler(c),
        ["EulerAncestralDiscreteScheduler"] = c => new EulerAncestralDiscreteScheduler(c),
        ["HeunDiscreteScheduler"] = c => new HeunDiscreteScheduler(c),
        ["LMSDiscreteScheduler"] = c => new LmsDiscreteScheduler(c),
        ["DPMSolverMultistepScheduler"] = c => new DpmSolverMultistepScheduler(c),
        ["DPMSolverSinglestepScheduler"] = c => new DpmSolverSinglestepScheduler(c),
        ["UniPCMultistepScheduler"] = c => new UniPCMultistepScheduler(c),
        ["KDPM2DiscreteScheduler"] = c => new KDpm2DiscreteScheduler(c),
    };

    private static readonly Dictionary<string, Entry> Samplers = new(StringComparer.Ordinal)
    {
        ["ddim"] = new(Classes["DDIMScheduler"], AsIs),
        ["ddpm"] = new(Classes["DDPMScheduler"], AsIs),
        // PLMS is PNDM without its Runge–Kutta warm-up, the only PNDM this engine runs
        ["pndm"] = new(Classes["PNDMScheduler"], c => c with { SkipPrkSteps = true }),
        ["plms"] = new(Classes["PNDMScheduler"], c => c with { SkipPrkSteps = true }),
        ["euler"] = new(Classes["EulerDiscreteScheduler"], AsIs),
        ["euler_karras"] = new(Classes["EulerDiscreteScheduler"], c => c with { UseKarrasSigmas = true }),
        ["euler_a"] = new(Classes["EulerAncestralDiscreteScheduler"], AsIs),
        ["euler_ancestral"] = new(Classes["EulerAncestralDiscreteScheduler"], AsIs),
        ["heun"] = new(Classes["HeunDiscreteScheduler"], AsIs),
        ["heun_karras"] = new(Classes["HeunDiscreteScheduler"], c => c with { UseKarrasSigmas = true }),
        ["lms"] = new(Classes["LMSDiscreteScheduler"], AsIs),
        ["lms_karras"] = new(Classes["LMSDiscreteScheduler"], c => c with { UseKarrasSigmas = true }),
        ["dpm2"] = new(Classes["KDPM2DiscreteScheduler"], AsIs),
        ["kdpm2"] = new(Classes["KDPM2DiscreteScheduler"], AsIs),
        ["dpm2_karras"] = new(Classes["KDPM2DiscreteScheduler"], c => c with { UseKarrasSigmas = true }),
        ["dpm++_2m"] = new(Classes["DPMSolverMultistepScheduler"], c => c with { AlgorithmType = "dpmsolver++", SolverOrder = 2 }),
        ["dpm++_2m_karras"] = new(Classes["DPMSolverMultistepScheduler"], c => c with { AlgorithmType = "dpmsolver++", SolverOrder = 2, UseKarrasSigmas = true }),
        // diffusers' closest to A1111's "DPM++ 2S a" (without the ancestral noise)
        ["dpm++_2s"] = new(Classes["DPMSolverSinglestepScheduler"], c => c with { AlgorithmType = "dpmsolver++", SolverOrder = 2 }),
        ["dpm++_2s_karras"] = new(Classes["DPMSolverSinglestepScheduler"], c => c with { AlgorithmType = "dpmsolver++", SolverOrder = 2, UseKarrasSigmas = true }),
        ["unipc"] = new(Classes["UniPCMultistepScheduler"], AsIs),
        ["unipc_karras"] = new(Classes["UniPCMultistepScheduler"], c => c with { UseKarrasSigmas = true }),
    };

    /// <summary>Every accepted sampler name (class names as diffusers spells them; sampler names lower case).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Samplers.Keys.Order(StringComparer.Ordinal), .. Classes.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// The scheduler called <paramref name="name"/>, built from the model's <paramref name="modelConfig"/>. Sampler
    /// names ignore case and treat spaces and hyphens as underscores ("Euler a", "DPM++ 2M Karras").
    /// </summary>
    public static Scheduler Create(string name, SchedulerConfig modelConfig)
    {
        if (Classes.TryGetValue(name, out var create)) return create(modelConfig);
        if (Samplers.TryGetValue(Normalise(name), out var entry)) return entry.Create(entry.Override(modelConfig));
        throw new DiffuserException($"Unknown scheduler \"{name}\". Valid names: {string.Join(", ", Names)}.");
    }

    /// <summary>The scheduler the config's own _class_name names (the model's default).</summary>
    public static Scheduler FromConfig(SchedulerConfig config) =>
        config.ClassName is { } name && Classes.TryGetValue(name, out var create) ? create(config)
            : throw new DiffuserException($"Scheduler config names class \"{config.ClassName}\", which is not one of: {string.Join(", ", Classes.Keys)}.");

    private static string Normalise(string name) => name.Trim().ToLowerInvariant().Replace(' ', '_').Replace('-', '_');
}
