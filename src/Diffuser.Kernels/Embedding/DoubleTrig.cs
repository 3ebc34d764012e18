namespace Diffuser.Kernels.Embedding;

/// <summary>
/// sin and cos in double precision from plain arithmetic (device code). ILGPU's GPU backends evaluate
/// <see cref="Math.Sin(double)"/> with a short CORDIC, too coarse for timestep angles up to 1000 rad; this reduces the
/// angle by π/2 in two parts (Cody–Waite) and sums Taylor series on [−π/4, π/4], accurate to a few 1e-16.
/// </summary>
public static class DoubleTrig
{
    private const double TwoOverPi = 0.63661977236758134308;
    private const double PiOver2High = 1.57079632673412561417e+00;
    private const double PiOver2Low = 6.07710050650619224932e-11;

    public static double Sin(double angle) => Evaluate(angle, 0);

    public static double Cos(double angle) => Evaluate(angle, 1);

    /// <summary>sin(angle + quarterTurns·π/2).</summary>
    private static double Evaluate(double angle, int quarterTurns)
    {
        double nearest = angle * TwoOverPi;
        long k = (long)(nearest + (nearest >= 0 ? 0.5 : -0.5));
        double r = angle - k * PiOver2High - k * PiOver2Low;
        int quadrant = (int)((k + quarterTurns) & 3);
        double value = (quadrant & 1) == 0 ? SinSeries(r) : CosSeries(r);
        return quadrant >= 2 ? -value : value;
    }

    private static double SinSeries(double r)
    {
        double z = r * r;
        double p = 1.0 / 355687428096000.0;  // 1/17!
        p = p * z - 1.0 / 1307674368000.0;   // 1/15!
        p = p * z + 1.0 / 6227020800.0;      // 1/13!
        p = p * z - 1.0 / 39916800.0;        // 1/11!
        p = p * z + 1.0 / 362880.0;          // 1/9!
        p = p * z - 1.0 / 5040.0;            // 1/7!
        p = p * z + 1.0 / 120.0;             // 1/5!
        p = p * z - 1.0 / 6.0;               // 1/3!
        return r + r * z * p;
    }

    private static double CosSeries(double r)
    {
        double z = r * r;
        double p = 1.0 / 6402373705728000.0 * z - 1.0 / 20922789888000.0; // z/18! − 1/16!
        p = p * z + 1.0 / 87178291200.0;                                   // 1/14!
        p = p * z - 1.0 / 479001600.0;                                     // 1/12!
        p = p * z + 1.0 / 3628800.0;                                       // 1/10!
        p = p * z - 1.0 / 40320.0;                                         // 1/8!
        p = p * z + 1.0 / 720.0;                                           // 1/6!
        p = p * z - 1.0 / 24.0;                                            // 1/4!
        p = p * z + 0.5;                                                   // 1/2!
        return 1.0 - z * p;
    }
}
