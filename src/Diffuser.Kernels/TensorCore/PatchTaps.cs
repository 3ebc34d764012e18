using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The filter taps of one output pixel's patch, in the reduction order of a <see cref="TapMajorFilter"/>
/// (k = tap·Cp + channel), with which of them fall inside the image: a bit of a per-thread mask (device code; what the
/// patch operands of the tensor-core convolution share).
/// </summary>
public readonly struct PatchTaps
{
    /// <summary>The largest filter area R·S (a bit of a mask per tap; bit 31 stays clear for the reads past the depth).</summary>
    public const int MaxFilterTaps = 31;

    private readonly ulong _byPaddedChannels;
    private readonly int _paddedChannels, _s, _insideTaps;

    public PatchTaps(Conv2dShape s, int r, int sCols, PatchWindow window)
    {
        _paddedChannels = TapMajorFilter.Channels(s.C);
        _s = sCols;
        int insideRows = window.Valid ? InsideMask(window.Row0, r, s.H) : 0, insideCols = InsideMask(window.Column0, sCols, s.W), insideTaps = 0;
        for (int row = 0; row < r; row++) insideTaps |= ((insideRows >> row) & 1) * (insideCols << (row * sCols));
        // Kept where they are computed: ILGPU would move them into the convolution's main loop.
        _byPaddedChannels = LoopInvariant.Keep(SmallDivision.Multiplier(_paddedChannels));
        _insideTaps = LoopInvariant.Keep(insideTaps);
    }

    /// <summary>Filters of at most 31 taps, and reduction indices (read up to a stage past the end) the division handles.</summary>
    public static bool Supports(int channels, int taps) =>
        taps <= MaxFilterTaps && (long)TapMajorFilter.Depth(channels, taps) + 2 * TensorCoreLayout.Depth <= SmallDivision.DividendLimit;

    /// <summary>The tap of reduction index <paramref name="k0"/> (a value, not out parameters, which ILGPU would put in local memory).</summary>
    public TapPosition Locate(int k0)
    {
        int tap = SmallDivision.Quotient(k0, _byPaddedChannels), row = SmallDivision.ShortQuotient(tap, _s), c = k0 - tap * _paddedChannels;
        int column = tap - row * _s;
        bool inside = ((_insideTaps >> XMath.Min(tap, MaxFilterTaps)) & 1) != 0;
        return new(row, column, c, inside);
    }

    /// <summary>Bit i set when start + i lies in [0, extent), for i &lt; count (≤ 31).</summary>
    private static int InsideMask(int start, int count, int extent)
    {
        int low = XMath.Clamp(-start, 0, count), high = XMath.Clamp(extent - start, 0, count);
        return ((1 << high) - 1) & ~((1 << low) - 1);
    }
}

/// <param name="Row">The tap's filter row.</param>
/// <param name="Column">Its filter column.</param>
/// <param name="Channel">The channel of the reduction index.</param>
/// <param name="Inside">Whether the tap lies inside the image for this pixel (and not past the taps, as a stage past the depth is).</param>
public readonly record struct TapPosition(int Row, int Column, int Channel, bool Inside);
