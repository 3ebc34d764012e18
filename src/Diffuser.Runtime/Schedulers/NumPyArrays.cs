namespace Diffuser.Schedulers;

/// <summary>
/// The few numpy float64 routines diffusers builds timestep and sigma schedules with, reproduced operation for
/// operation so the schedules match to the last bit: linspace, arange with a float step, interp and round.
/// </summary>
internal static class NumPyArrays
{
    /// <summary>np.linspace(start, stop, count): i·step + start, the last value exactly stop.</summary>
    public static double[] Linspace(double start, double stop, int count)
    {
        var values = new double[count];
        double step = (stop - start) / Math.Max(count - 1, 1);
        for (int i = 0; i < count; i++) values[i] = i * step + start;
        if (count > 1) values[^1] = stop;
        return values;
    }

    /// <summary>np.arange(start, stop, step) for float64: length ⌈(stop − start)/step⌉, values start + i·((start + step) − start).</summary>
    public static double[] Arange(double start, double stop, double step)
    {
        int count = Math.Max((int)Math.Ceiling((stop - start) / step), 0);
        var values = new double[count];
        if (count == 0) return values;
        values[0] = start;
        if (count > 1) values[1] = start + step;
        double delta = start + step - start;
        for (int i = 2; i < count; i++) values[i] = start + i * delta;
        return values;
    }

    /// <summary>np.interp(x, [0, 1, …, n−1], table): piecewise linear, exact at the knots, clamped at the ends.</summary>
    public static double Interp(double x, IReadOnlyList<float> table)
    {
        if (x <= 0) return table[0];
        if (x >= table.Count - 1) return table[^1];
        int j = (int)Math.Floor(x);
        if (j == x) return table[j];
        double slope = (double)table[j + 1] - table[j]; // divided by the knot spacing, 1
        return slope * (x - j) + table[j];
    }

    /// <summary>np.round: to the nearest integer, halves to even.</summary>
    public static double Round(double x) => Math.Round(x, MidpointRounding.ToEven);

    public static double[] Reverse(double[] values)
    {
        var copy = (double[])values.Clone();
        Array.Reverse(copy);
        return copy;
    }
}
