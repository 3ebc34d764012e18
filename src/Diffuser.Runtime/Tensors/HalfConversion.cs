namespace Diffuser.Tensors;

/// <summary>fp16 ↔ fp32 conversion of spans (round to nearest even, as IEEE and torch do).</summary>
public static class HalfConversion
{
    public static void ToSingle(ReadOnlySpan<Half> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = (float)source[i];
    }

    public static void ToHalf(ReadOnlySpan<float> source, Span<Half> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = (Half)source[i];
    }

    /// <summary>bfloat16 bits to fp32: the 16 bits are the high half of the fp32 pattern.</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
    }
}
