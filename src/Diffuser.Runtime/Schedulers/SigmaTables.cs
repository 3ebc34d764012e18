namespace Diffuser.Schedulers;

/// <summary>
/// Noise levels σ = √((1 − ᾱ)/ᾱ) of the training schedule and the conversions diffusers' sigma schedulers share:
/// Karras et al.'s ρ = 7 schedule and the σ → t inverse by linear interpolation of log σ.
/// </summary>
internal static class SigmaTables
{
    /// <summary>σₜ for t = 0 .. T−1 (increasing), in fp32 as torch computes it.</summary>
    public static float[] Sigmas(TrainingSchedule schedule) =>
        [.. schedule.AlphasCumprod.Select(a => MathF.Sqrt((1f - a) / a))];

    /// <summary>ln σₜ in fp32 (numpy's log of the fp32 table).</summary>
    public static float[] LogSigmas(float[] sigmas) => [.. sigmas.Select(s => MathF.Log(s))];

    /// <summary>The last σ of a schedule: 0, or the training schedule's smallest σ (final_sigmas_type "sigma_min").</summary>
    public static float FinalSigma(string finalSigmasType, float smallestTrainingSigma) => finalSigmasType switch
    {
        "zero" => 0f,
        "sigma_min" => smallestTrainingSigma,
        _ => throw new DiffuserException($"Scheduler config: final_sigmas_type \"{finalSigmasType}\" is not one of zero, sigma_min."),
    };

    /// <summary>Karras et al. (2022) schedule: (σmax^(1/ρ) + ramp·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ, ρ = 7, ramp = linspace(0, 1, n).</summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int count)
    {
        const double rho = 7.0;
        double minInvRho = Math.Pow(sigmaMin, 1 / rho), maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        return [.. NumPyArrays.Linspace(0, 1, count).Select(r => Math.Pow(maxInvRho + r * (minInvRho - maxInvRho), rho))];
    }

    /// <summary>
    /// diffusers' _sigma_to_t in float64: the fractional training timestep whose log σ interpolates to ln σ
    /// (clamped to the table).
    /// </summary>
    public static double SigmaToT(double sigma, float[] logSigmas)
    {
        double logSigma = Math.Log(Math.Max(sigma, 1e-10));
        int low = LowIndex(logSigmas, i => logSigma - logSigmas[i] >= 0);
        double w = Math.Clamp((logSigmas[low] - logSigma) / ((double)logSigmas[low] - logSigmas[low + 1]), 0, 1);
        return (1 - w) * low + w * (low + 1);
    }

    /// <summary>The same conversion in fp32, as KDPM2 runs it on torch tensors for its interpolated timesteps.</summary>
    public static float SigmaToTSingle(float sigma, float[] logSigmas)
    {
        float logSigma = MathF.Log(MathF.Max(sigma, 1e-10f));
        int low = LowIndex(logSigmas, i => logSigma - logSigmas[i] >= 0);
        float w = Math.Clamp((logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1]), 0f, 1f);
        return (1 - w) * low + w * (low + 1);
    }

    /// <summary>The last index where <paramref name="atOrBelow"/> holds (0 if none), at most n − 2: numpy's cumsum(...).argmax().clip(max=n−2).</summary>
    private static int LowIndex(float[] logSigmas, Func<int, bool> atOrBelow)
    {
        int last = 0;
        for (int i = 0; i < logSigmas.Length; i++) if (atOrBelow(i)) last = i;
        return Math.Min(last, logSigmas.Length - 2);
    }
}
