namespace Diffuser.Kernels.Launch;

/// <summary>
/// A grid-stride loop's index i, i + stride, … with its quotient and remainder by a divisor kept up to date without
/// dividing (device code): ptxas turns each division into ~20 instructions, more than a memory-bound element-wise
/// kernel can spend per element and still keep up with the memory. Two divisions at the start, then a few additions
/// a step.
/// </summary>
public struct StrideWalk
{
    private readonly int _stride, _divisor, _strideQuotient, _strideRemainder;

    public StrideWalk(int start, int stride, int divisor)
    {
        Index = start;
        Quotient = start / divisor;
        Remainder = start - Quotient * divisor;
        _stride = stride;
        _divisor = divisor;
        _strideQuotient = LoopInvariant.Keep(stride / divisor);
        _strideRemainder = LoopInvariant.Keep(stride - _strideQuotient * divisor);
    }

    public int Index { get; private set; }

    /// <summary>Index / divisor.</summary>
    public int Quotient { get; private set; }

    /// <summary>Index % divisor.</summary>
    public int Remainder { get; private set; }

    public void Next()
    {
        Index += _stride;
        int remainder = Remainder + _strideRemainder, carry = remainder >= _divisor ? 1 : 0;
        Remainder = remainder - carry * _divisor;
        Quotient += _strideQuotient + carry;
    }
}
