namespace Diffuser.Schedulers;

/// <summary>
/// Adaptive Gauss–Kronrod quadrature (the 10/21-point pair of QUADPACK's QK21, bisecting the interval with the
/// largest error estimate until the total meets max(epsAbs, epsRel·|I|)), in double. It stands in for
/// scipy.integrate.quad, which LMSDiscreteScheduler uses for its coefficients; on the polynomials LMS integrates
/// the first 21-point rule is already exact.
/// </summary>
internal static class GaussKronrod
{
    // Kronrod nodes (positive half, descending) and weights; every odd-indexed node is also a 10-point Gauss node.
    private static readonly double[] Nodes =
    [
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452, 0.930157491355708226001207180059508,
        0.865063366688984510732096688423493, 0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784, 0.294392862701460198131126603103866,
        0.148874338981631210884826001129720, 0.0,
    ];

    private static readonly double[] KronrodWeights =
    [
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390, 0.054755896574351996031381300244580,
        0.075039674810919952767043140916190, 0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077208863525915, 0.134709217311473325928054001771707, 0.142775938577060080797094273138717,
        0.147739104901338491374841515972068, 0.149445554002916905664936468389821,
    ];

    private static readonly double[] GaussWeights =
    [
        0.066671344308688137593568809893332, 0.149451349150580593145776339657697, 0.219086362515982043995534934228163,
        0.269266719309996355091226921569469, 0.295524224714752870173892994651338,
    ];

    /// <summary>∫ f from <paramref name="a"/> to <paramref name="b"/> (scipy.integrate.quad's defaults: epsabs 1.49e-8, limit 50).</summary>
    public static double Integrate(Func<double, double> f, double a, double b, double epsRel, double epsAbs = 1.49e-8, int limit = 50)
    {
        var intervals = new List<(double A, double B, double Value, double Error)> { Rule(f, a, b) };
        while (true)
        {
            double total = intervals.Sum(i => i.Value), error = intervals.Sum(i => i.Error);
            if (error <= Math.Max(epsAbs, epsRel * Math.Abs(total)) || intervals.Count >= limit) return total;
            var worst = intervals.MaxBy(i => i.Error);
            intervals.Remove(worst);
            double middle = 0.5 * (worst.A + worst.B);
            intervals.Add(Rule(f, worst.A, middle));
            intervals.Add(Rule(f, middle, worst.B));
        }
    }

    /// <summary>The 21-point Kronrod estimate on [a, b] and |Kronrod − Gauss| as its error.</summary>
    private static (double, double, double, double) Rule(Func<double, double> f, double a, double b)
    {
        double center = 0.5 * (a + b), halfLength = 0.5 * (b - a);
        double fc = f(center);
        double kronrod = fc * KronrodWeights[^1], gauss = 0;
        for (int j = 0; j < Nodes.Length - 1; j++)
        {
            double dx = halfLength * Nodes[j];
            double pair = f(center - dx) + f(center + dx);
            kronrod += KronrodWeights[j] * pair;
            if (j % 2 == 1) gauss += GaussWeights[j / 2] * pair;
        }
        return (a, b, kronrod * halfLength, Math.Abs((kronrod - gauss) * halfLength));
    }
}
