using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Conv;

/// <summary>The im2col matrix [C·R·S, N·OH·OW], bound to one pixel column (of x upsampled when the shape says so).</summary>
public readonly struct PatchOperand<T> : ITileOperand where T : struct, IElementView<T>
{
    private readonly T _x;
    private readonly int _h, _w, _sourceHeight, _sourceWidth, _upsample, _r, _s, _depth;
    private readonly PatchWindow _window;

    public PatchOperand(T x, Conv2dShape s, int r, int sCols, int pixel)
    {
        _x = x;
        _h = s.H;
        _w = s.W;
        _sourceHeight = s.SourceHeight;
        _sourceWidth = s.SourceWidth;
        _upsample = s.Upsample;
        _r = r;
        _s = sCols;
        _depth = s.C * r * sCols;
        _window = PatchWindow.Of(s, pixel);
    }

    public float Fetch(int mn, int k)
    {
        int index = Index(k);
        return index < 0 ? 0f : _x.Load(index);
    }

    /// <summary>Element index in x of reduction index <paramref name="k"/> = (c, r, s) of this pixel's patch; −1 for zero padding.</summary>
    public int Index(int k)
    {
        if (!_window.Valid || k >= _depth) return -1;
        // R and S are constants of the specialised kernel: a folded multiply, not ptxas's ~20-instruction division.
        int c = SmallDivision.Quotient(k, _r * _s), rs = k - c * (_r * _s);
        int r = SmallDivision.Quotient(rs, _s);
        int iy = _window.Row0 + r, ix = _window.Column0 + rs - r * _s;
        if (iy < 0 || iy >= _h || ix < 0 || ix >= _w) return -1;
        return _window.ImageBase + (c * _sourceHeight + (iy >> _upsample)) * _sourceWidth + (ix >> _upsample);
    }
}
