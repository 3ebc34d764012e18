namespace Diffuser.Schedulers;

/// <summary>How N inference timesteps are picked from the T training timesteps (Lin et al. 2023, table 2).</summary>
public enum TimestepSpacing
{
    /// <summary>Multiples of T // N plus steps_offset (the SD 1.x default of DDIM / PNDM).</summary>
    Leading,
    /// <summary>Counted down from T − 1 in steps of T / N.</summary>
    Trailing,
    /// <summary>Evenly from T − 1 down to 0.</summary>
    Linspace,
}

/// <summary>The timestep grids of diffusers' set_timesteps, in its numpy float64 arithmetic (all descending).</summary>
internal static class TimestepSpacings
{
    public static TimestepSpacing Parse(string? value, TimestepSpacing classDefault) => value switch
    {
        null => classDefault,
        "leading" => TimestepSpacing.Leading,
        "trailing" => TimestepSpacing.Trailing,
        "linspace" => TimestepSpacing.Linspace,
        _ => throw new DiffuserException($"Scheduler config: timestep_spacing \"{value}\" is not one of leading, trailing, linspace."),
    };

    /// <summary>
    /// N values before rounding (DDIM, DDPM, PNDM round them to integers; Euler, Heun, LMS, KDPM2 keep them as fp32):
    /// linspace(0, T−1, N) reversed; (i·(T // N)) reversed + offset; arange(T, 0, −T/N) − 1.
    /// Leading grids are whole numbers already; trailing ones are rounded before the −1, as diffusers does.
    /// </summary>
    public static double[] Grid(TimestepSpacing spacing, int trainSteps, int steps, int stepsOffset) => spacing switch
    {
        TimestepSpacing.Linspace => NumPyArrays.Reverse(NumPyArrays.Linspace(0, trainSteps - 1, steps)),
        TimestepSpacing.Leading => Leading(steps, trainSteps / steps, stepsOffset),
        _ => Trailing(trainSteps, trainSteps, steps),
    };

    /// <summary>
    /// DPM-Solver and UniPC: N + 1 points up to <paramref name="lastTimestep"/>, the smallest dropped, rounded to integers.
    /// </summary>
    public static double[] GridWithoutFinal(TimestepSpacing spacing, int lastTimestep, int trainSteps, int steps, int stepsOffset) => spacing switch
    {
        TimestepSpacing.Linspace => [.. NumPyArrays.Reverse(NumPyArrays.Linspace(0, lastTimestep - 1, steps + 1)).Take(steps).Select(NumPyArrays.Round)],
        TimestepSpacing.Leading => [.. Leading(steps + 1, lastTimestep / (steps + 1), stepsOffset).Take(steps)],
        _ => Trailing(lastTimestep, trainSteps, steps),
    };

    private static double[] Leading(int count, int ratio, int offset) =>
        [.. Enumerable.Range(0, count).Reverse().Select(i => (double)i * ratio + offset)];

    private static double[] Trailing(int from, int trainSteps, int steps) =>
        [.. NumPyArrays.Arange(from, 0, -(double)trainSteps / steps).Select(t => NumPyArrays.Round(t) - 1)];

    /// <summary>Fails when more inference steps are asked for than the model was trained with.</summary>
    public static void RequireSteps(int steps, int trainSteps)
    {
        if (steps < 1 || steps > trainSteps)
            throw new DiffuserException($"Cannot sample with {steps} steps: expected 1 to num_train_timesteps ({trainSteps}).");
    }
}
