namespace Diffuser.Kernels.Launch;

/// <summary>
/// Integer division of small non-negative numbers as a multiply and a shift (device and host code). ptxas expands
/// even a division by a constant into ~20 instructions; here, when the divisor is a constant of the kernel (a
/// specialised value), ILGPU folds the multiplier and the division costs a 64-bit multiply and a shift.
/// </summary>
public static class SmallDivision
{
    /// <summary>Largest dividend (exclusive): 2²⁴.</summary>
    public const int DividendLimit = 1 << 24;
    /// <summary>Largest divisor (exclusive): 2¹⁶.</summary>
    public const int DivisorLimit = 1 << 16;

    private const int Shift = 40;

    /// <summary>
    /// ⌊n / d⌋ for 0 ≤ n &lt; 2²⁴ and 1 ≤ d &lt; 2¹⁶: with m = ⌊2⁴⁰/d⌋ + 1, m·d = 2⁴⁰ + e with 0 &lt; e ≤ d, so
    /// n·m/2⁴⁰ exceeds n/d by n·e/(d·2⁴⁰) &lt; 1/d, never reaching the next integer.
    /// </summary>
    public static int Quotient(int n, int d) => Quotient(n, Multiplier(d));

    /// <summary>The multiplier that divides by <paramref name="d"/>: found once per thread when d is not a constant.</summary>
    public static ulong Multiplier(int d) => (1UL << Shift) / (ulong)d + 1;

    /// <summary>
    /// ⌊n / d⌋ for 0 ≤ n &lt; 2⁸ and 1 ≤ d &lt; 2⁸ in 32-bit arithmetic (a multiply and a shift when d is a constant):
    /// the same argument with m = ⌊2¹⁶/d⌋ + 1, since n·d &lt; 2¹⁶.
    /// </summary>
    public static int ShortQuotient(int n, int d) => (n * ((1 << 16) / d + 1)) >> 16;

    /// <summary>⌊n / d⌋ by d's <see cref="Multiplier"/>.</summary>
    public static int Quotient(int n, ulong multiplier) => (int)(((ulong)(uint)n * multiplier) >> Shift);

    /// <summary>The multiplier of <see cref="WideQuotient"/>: ⌊2⁴⁸/d⌋ + 1, for 1 ≤ d &lt; 2²⁴.</summary>
    public static ulong WideMultiplier(int d) => (1UL << WideShift) / (ulong)d + 1;

    /// <summary>
    /// ⌊n / d⌋ for 0 ≤ n &lt; 2²⁴ and 1 ≤ d &lt; 2²⁴ (a spatial size of the VAE at 512²: 2¹⁸) by d's
    /// <see cref="WideMultiplier"/> m: m·d = 2⁴⁸ + e with 0 &lt; e ≤ d, so n·m/2⁴⁸ exceeds n/d by less than 1/d, as in
    /// <see cref="Quotient(int, int)"/>; n·m (up to 2⁷²) is taken in two 64-bit products of n by m's high and low 24 bits.
    /// </summary>
    public static int WideQuotient(int n, ulong multiplier)
    {
        ulong high = (ulong)(uint)n * (multiplier >> 24), low = (ulong)(uint)n * (multiplier & 0xFFFFFF);
        return (int)((high + (low >> 24)) >> 24);
    }

    private const int WideShift = 48;
}
