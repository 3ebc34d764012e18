using ILGPU;

namespace Diffuser.Kernels.Convert;

/// <summary>
/// fp32 → fp16 bits with round-to-nearest-even in integer arithmetic (device code). ILGPU's own float → Half cast
/// is exact on CUDA (cvt.rn) but truncates on the CPU accelerator, so the kernel spells the rounding out.
/// </summary>
public static class HalfBits
{
    public static ushort FromSingle(float value)
    {
        uint f = (uint)Interop.FloatAsInt(value);
        uint sign = (f >> 16) & 0x8000u;
        uint a = f & 0x7FFFFFFFu;
        if (a >= 0x7F800000u) return (ushort)(sign | (a > 0x7F800000u ? 0x7E00u : 0x7C00u)); // NaN stays NaN, ±∞
        if (a >= 0x477FF000u) return (ushort)(sign | 0x7C00u);                                // ≥ 65520 rounds to ∞
        if (a >= 0x38800000u) return (ushort)(sign | RoundShift(a - 0x38000000u, 13));         // normal: rebias, drop 13 bits
        if (a < 0x33000000u) return (ushort)sign;                                              // below 2⁻²⁵: ±0
        uint mantissa = (a & 0x7FFFFFu) | 0x800000u;                                          // subnormal half
        return (ushort)(sign | RoundShift(mantissa, 126 - (int)(a >> 23)));
    }

    /// <summary>value >> shift, rounded to nearest even (a carry may move into the exponent, as it should).</summary>
    private static uint RoundShift(uint value, int shift)
    {
        uint kept = value >> shift, rest = value & ((1u << shift) - 1u), half = 1u << (shift - 1);
        return rest > half || rest == half && (kept & 1u) != 0 ? kept + 1u : kept;
    }
}
