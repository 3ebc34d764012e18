namespace Diffuser.Schedulers;

/// <summary>
/// The noise schedule the model was trained with: βₜ and ᾱₜ = Π(1 − βₛ) for t = 0 .. T−1, as fp32 values exactly as
/// diffusers builds them (torch fp32 linspace; cumprod accumulated in double and rounded per entry, as torch's CPU
/// kernel does; the cosine schedule in double, then rounded).
/// </summary>
public sealed class TrainingSchedule
{
    private TrainingSchedule(float[] betas)
    {
        Betas = betas;
        AlphasCumprod = new float[betas.Length];
        double product = 1;
        for (int t = 0; t < betas.Length; t++)
        {
            product *= 1f - betas[t];
            AlphasCumprod[t] = (float)product;
        }
    }

    public IReadOnlyList<float> Betas { get; }

    /// <summary>ᾱₜ for t = 0 .. T−1.</summary>
    public float[] AlphasCumprod { get; }

    public int Length => AlphasCumprod.Length;

    /// <summary>The schedule a config asks for: trained_betas, or beta_schedule linear / scaled_linear / squaredcos_cap_v2.</summary>
    public static TrainingSchedule From(SchedulerConfig config)
    {
        int steps = config.NumTrainTimesteps ?? 1000;
        if (steps < 2) throw new DiffuserException($"Scheduler config: num_train_timesteps must be at least 2, got {steps}.");
        if (config.TrainedBetas is { } trained)
        {
            if (trained.Length != steps) throw new DiffuserException($"Scheduler config: trained_betas has {trained.Length} entries, num_train_timesteps is {steps}.");
            return new TrainingSchedule([.. trained.Select(b => (float)b)]);
        }
        double start = config.BetaStart ?? 0.0001, end = config.BetaEnd ?? 0.02;
        return (config.BetaSchedule ?? "linear") switch
        {
            "linear" => new TrainingSchedule(TorchLinspace(start, end, steps)),
            // this schedule is very specific to the latent diffusion model: a linspace of √β, squared in fp32
            "scaled_linear" => new TrainingSchedule([.. TorchLinspace(Math.Sqrt(start), Math.Sqrt(end), steps).Select(b => b * b)]),
            "squaredcos_cap_v2" => new TrainingSchedule(CosineBetas(steps)),
            var other => throw new DiffuserException($"Scheduler config: beta_schedule \"{other}\" is not one of linear, scaled_linear, squaredcos_cap_v2."),
        };
    }

    /// <summary>torch.linspace in fp32: step = (end − start)/(n − 1) in fp32, the first half counted from start, the second from end.</summary>
    private static float[] TorchLinspace(double start, double end, int count)
    {
        float s = (float)start, e = (float)end, step = (e - s) / (count - 1);
        var values = new float[count];
        int half = count / 2;
        for (int i = 0; i < count; i++) values[i] = i < half ? s + step * i : e - step * (count - i - 1);
        return values;
    }

    /// <summary>betas_for_alpha_bar with the "cosine" transform (the Glide schedule), capped at 0.999.</summary>
    private static float[] CosineBetas(int count)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
        var betas = new float[count];
        for (int i = 0; i < count; i++)
            betas[i] = (float)Math.Min(1 - AlphaBar((i + 1) / (double)count) / AlphaBar(i / (double)count), 0.999);
        return betas;
    }
}
