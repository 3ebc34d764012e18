using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// Where a filter tap's pixel lies in a plane of x as stored, for one output pixel's window (device code; what the
/// dense and the channel-blocked patch operands share): tap (r, s) is pixel <see cref="Origin"/> + r·W + s, or, read
/// upsampled (<see cref="Conv2dShape.Upsample"/>, a kernel constant), (Row0 + r)/2·W/2 + (Column0 + s)/2 with
/// <see cref="Origin"/> 0: two shifts a stage, where the origin otherwise folds the window in.
/// </summary>
public readonly struct TapPixels
{
    private readonly int _width, _row0, _column0;
    private readonly bool _upsampled;

    /// <param name="upsample"><paramref name="s"/>'s <see cref="Conv2dShape.Upsample"/> (a constant of the kernel).</param>
    public TapPixels(Conv2dShape s, PatchWindow window, int upsample)
    {
        _width = s.SourceWidth;
        _upsampled = upsample != 0;
        Origin = _upsampled ? 0 : window.Row0 * s.W + window.Column0;
        // Kept where they are computed: ILGPU would move them into the convolution's main loop.
        _row0 = _upsampled ? LoopInvariant.Keep(window.Row0) : 0;
        _column0 = _upsampled ? LoopInvariant.Keep(window.Column0) : 0;
    }

    /// <summary>The pixel of tap (0, 0) when x is read as is (outside the image where the convolution pads); 0 read upsampled.</summary>
    public int Origin { get; }

    /// <summary>The tap's pixel, less <see cref="Origin"/>. Outside the image the upsampled row or column may be −1: the pixel is then never read.</summary>
    public int Of(TapPosition tap) =>
        _upsampled ? ((_row0 + tap.Row) >> 1) * _width + ((_column0 + tap.Column) >> 1) : tap.Row * _width + tap.Column;
}
