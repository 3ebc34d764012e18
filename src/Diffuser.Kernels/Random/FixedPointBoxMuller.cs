namespace Diffuser.Kernels.Random;

/// <summary>Two standard normal samples.</summary>
public readonly struct NormalPair(float first, float second)
{
    public readonly float First = first;
    public readonly float Second = second;
}

/// <summary>
/// The Box–Muller transform in 64-bit integer fixed point: z = √(−2 ln u₁)·(cos 2πu₂, sin 2πu₂) with
/// u₁ = (a + 1)/2³² ∈ (0, 1] and u₂ = b/2³². Logarithm, square root, sine and cosine are series and bit-by-bit
/// loops over integers, and each result is one int64 → fp32 conversion (round to nearest even) scaled by a power
/// of two. No floating-point library call is involved, so CPU, CUDA and OpenCL produce bit-identical normals
/// (libm's, CUDA's and OpenCL's logf/sinf differ in the last bits, and GPU compilers may fuse multiply-adds).
/// Accuracy is a few 1e-9 absolute before the final rounding; the largest |z| is √(64 ln 2) ≈ 6.66.
/// </summary>
public static class FixedPointBoxMuller
{
    private const ulong Ln2Q56 = 49946518145322874; // round(ln 2 · 2⁵⁶)
    private const ulong Sqrt2Q32 = 6074001000;      // round(√2 · 2³²)
    private const ulong HalfPiQ30 = 1686629713;     // round(π/2 · 2³⁰)
    private const long OneQ30 = 1L << 30;
    private const float TwoToMinus58 = 3.469446951953614E-18f; // 2⁻⁵⁸: radius Q28 × trig Q30

    /// <summary>Two independent N(0, 1) samples from two uniform 32-bit words.</summary>
    public static NormalPair Transform(uint a, uint b)
    {
        long radius = (long)RadiusQ28(a);
        uint quadrant = b >> 30;
        long angle = (long)(((ulong)(b & 0x3FFFFFFF) * HalfPiQ30) >> 30); // φ ∈ [0, π/2) in Q30
        long sin = SinQ30(angle), cos = CosQ30(angle);
        // 2πu₂ = quadrant·π/2 + φ: rotate (cos φ, sin φ) by whole quarter turns.
        long c = quadrant == 0 ? cos : quadrant == 1 ? -sin : quadrant == 2 ? -cos : sin;
        long s = quadrant == 0 ? sin : quadrant == 1 ? cos : quadrant == 2 ? -sin : -cos;
        return new NormalPair((float)(radius * c) * TwoToMinus58, (float)(radius * s) * TwoToMinus58);
    }

    /// <summary>
    /// √(−2 ln u₁) in Q28 for u₁ = (a + 1)/2³²: with n = a + 1 = 2ᵉ·y, y ∈ [√½, √2),
    /// −ln u₁ = (32 − e)·ln 2 − 2·atanh((y − 1)/(y + 1)), formed in Q56 so that u₁ near 1 keeps its precision.
    /// </summary>
    private static ulong RadiusQ28(uint a)
    {
        const ulong one = 1UL << 32;
        ulong n = (ulong)a + 1;                       // 1 ..= 2³²
        int e = FloorLog2(n);
        ulong y = n << (32 - e);                      // n/2ᵉ ∈ [1, 2) in Q32
        if (y >= Sqrt2Q32) { y >>= 1; e++; }          // exact: e ≤ 31 here
        bool below = y < one;
        long atanh = (long)AtanhQ56(below ? one - y : y - one, y + one);
        long minusLn = (long)((ulong)(32 - e) * Ln2Q56) + (below ? 2 * atanh : -2 * atanh);
        ulong minusTwoLn = minusLn > 0 ? 2 * (ulong)minusLn : 0; // ≤ 44.4·2⁵⁶ < 2⁶³
        return ISqrt(minusTwoLn);                     // √(v·2⁵⁶) = √v·2²⁸
    }

    /// <summary>
    /// atanh(s) in Q56 for s = numerator/denominator ∈ [0, 0.172): s itself by long division (28 bits at a time),
    /// the small tail s³/3 + s⁵/5 + … (six terms: error below 2⁻³⁶) in Q32.
    /// </summary>
    private static ulong AtanhQ56(ulong numerator, ulong denominator)
    {
        ulong s = 0, remainder = numerator;
        for (int chunk = 0; chunk < 2; chunk++)
        {
            remainder <<= 28;
            s = (s << 28) | (remainder / denominator);
            remainder %= denominator;
        }
        ulong s32 = s >> 24, s2 = (s32 * s32) >> 32, power = s32, tail = 0;
        for (ulong k = 1; k <= 6; k++)
        {
            power = (power * s2) >> 32;
            tail += power / (2 * k + 1);
        }
        return s + (tail << 24);
    }

    /// <summary>sin φ for φ ∈ [0, π/2) in Q30 (Taylor series to φ¹⁷/17!).</summary>
    private static long SinQ30(long phi) => AlternatingSeries(phi, phi, 2);

    /// <summary>cos φ for φ ∈ [0, π/2) in Q30 (Taylor series to φ¹⁶/16!).</summary>
    private static long CosQ30(long phi) => AlternatingSeries(phi, OneQ30, 1);

    /// <summary>Σ (−1)ᵏ·termₖ with termₖ = termₖ₋₁·φ²/((n)(n+1)), n = firstDivisor + 2(k−1).</summary>
    private static long AlternatingSeries(long phi, long firstTerm, long firstDivisor)
    {
        long phi2 = (phi * phi) >> 30, term = firstTerm, sum = firstTerm;
        for (long k = 0, n = firstDivisor; k < 8; k++, n += 2)
        {
            term = ((term * phi2) >> 30) / (n * (n + 1));
            sum += (k & 1) == 0 ? -term : term;
        }
        return sum;
    }

    private static int FloorLog2(ulong v)
    {
        int p = 0;
        if (v >> 32 != 0) { v >>= 32; p += 32; }
        if (v >> 16 != 0) { v >>= 16; p += 16; }
        if (v >> 8 != 0) { v >>= 8; p += 8; }
        if (v >> 4 != 0) { v >>= 4; p += 4; }
        if (v >> 2 != 0) { v >>= 2; p += 2; }
        if (v >> 1 != 0) p += 1;
        return p;
    }

    /// <summary>⌊√v⌋, bit by bit.</summary>
    private static ulong ISqrt(ulong v)
    {
        ulong result = 0, bit = 1UL << 62;
        while (bit > v) bit >>= 2;
        while (bit != 0)
        {
            if (v >= result + bit)
            {
                v -= result + bit;
                result = (result >> 1) + bit;
            }
            else result >>= 1;
            bit >>= 2;
        }
        return result;
    }
}
