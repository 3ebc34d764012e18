namespace Diffuser.Schedulers;

/// <summary>
/// A scheduler's plan for N inference steps (diffusers' state after set_timesteps(N)).
/// </summary>
/// <param name="InferenceSteps">N as asked for.</param>
/// <param name="Timesteps">The timestep of each model call, in order (2N − 1 for Heun and KDPM2; N + 1 for PLMS).</param>
/// <param name="IntegerTimesteps">Whether diffusers holds them as int64 (else fp32).</param>
/// <param name="Sigmas">The σ table of sigma schedulers, DPM-Solver and UniPC (scheduler.sigmas); empty for the others.</param>
/// <param name="InitNoiseSigma">The initial latents are standard noise times this.</param>
public sealed record TimestepSchedule(int InferenceSteps, IReadOnlyList<float> Timesteps, bool IntegerTimesteps,
    IReadOnlyList<float> Sigmas, float InitNoiseSigma)
{
    /// <summary>Model calls in a whole run.</summary>
    public int Length => Timesteps.Count;
}
