namespace Diffuser.Schedulers;

/// <summary>Per-generation settings of a sampling run (<see cref="Scheduler.Begin"/>).</summary>
public sealed record SamplerOptions
{
    /// <summary>
    /// Index of the first model call (diffusers' set_begin_index): img2img and inpainting start part-way, see
    /// <see cref="Scheduler.BeginIndexForStrength"/>. <see cref="Scheduler.AddNoise"/> noises to this point.
    /// </summary>
    public int BeginIndex { get; init; }

    /// <summary>Where stochastic steps get their noise; required by DDPM, DDIM with η &gt; 0 and Euler ancestral.</summary>
    public INoiseSource? Noise { get; init; }

    /// <summary>Step i draws noise number <c>FirstNoiseDraw + i</c> from <see cref="Noise"/>, so a run replays exactly.</summary>
    public long FirstNoiseDraw { get; init; }

    /// <summary>DDIM's η (0 = deterministic DDIM, 1 = DDPM-like); ignored by other schedulers.</summary>
    public double Eta { get; init; }
}
