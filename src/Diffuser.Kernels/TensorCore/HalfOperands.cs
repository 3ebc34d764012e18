using System.Runtime.InteropServices;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.TensorCore;

/// <summary>Eight fp16 values as four 32-bit words (16 bytes: one vectorised load or store).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct Half8
{
    public uint X, Y, Z, W;

    /// <summary>Packs eight fp16 bit patterns, the first in the low half of <see cref="X"/>.</summary>
    public static Half8 Pack(ushort h0, ushort h1, ushort h2, ushort h3, ushort h4, ushort h5, ushort h6, ushort h7) => new()
    {
        X = h0 | (uint)h1 << 16, Y = h2 | (uint)h3 << 16, Z = h4 | (uint)h5 << 16, W = h6 | (uint)h7 << 16,
    };
}

/// <summary>One fp16 operand of the tensor-core matmul, read 8 reduction indices at a time (device code).</summary>
public interface IHalfTileOperand
{
    /// <summary>Whether consecutive k of one row are adjacent in memory (loaded along k) or consecutive rows are (loaded along mn).</summary>
    bool KContiguous { get; }

    /// <summary>Values (mn, k0 .. k0 + 7), zero outside the matrix; k0 is a multiple of 8.</summary>
    Half8 Chunk(int mn, int k0);
}

/// <summary>
/// A dense row-major fp16 matrix starting at element <c>start</c> of <c>bits</c>, stored [mn, k] (k-contiguous) or
/// [k, mn]. With <c>vector</c> (k-contiguous, depth, start and the view's own start multiples of 8 halves, which the
/// launcher checks) a chunk is one 16-byte load: the view is reinterpreted whole and indexed, never sub-viewed first,
/// so that the compiler can prove the alignment and emit ld.global.v4.
/// </summary>
public readonly struct HalfMatrixOperand : IHalfTileOperand
{
    private readonly ArrayView<ushort> _bits;
    private readonly long _start;
    private readonly int _rows, _depth;
    private readonly bool _kContiguous, _vector;

    public HalfMatrixOperand(ArrayView<ushort> bits, long start, int rows, int depth, bool kContiguous, bool vector)
    {
        _bits = bits;
        _start = start;
        _rows = rows;
        _depth = depth;
        _kContiguous = kContiguous;
        _vector = vector;
    }

    /// <summary>Always with <c>vector</c>, so that a kernel specialised for it holds no code for the other layout.</summary>
    public bool KContiguous => _vector || _kContiguous;

    public Half8 Chunk(int mn, int k0)
    {
        if (mn >= _rows || k0 >= _depth) return default;
        // 16-byte chunk index: a 64-bit base and a 32-bit offset within the matrix (fewer than 2³¹ chunks).
        if (_vector) return _bits.Cast<Half8>()[(_start >> 3) + (mn * (_depth >> 3) + (k0 >> 3))];
        return Half8.Pack(Bits(mn, k0), Bits(mn, k0 + 1), Bits(mn, k0 + 2), Bits(mn, k0 + 3),
            Bits(mn, k0 + 4), Bits(mn, k0 + 5), Bits(mn, k0 + 6), Bits(mn, k0 + 7));
    }

    private ushort Bits(int mn, int k) =>
        k >= _depth ? (ushort)0 : _bits[_start + (_kContiguous ? (long)mn * _depth + k : (long)k * _rows + mn)];
}

/// <summary>op(B) read in the GEGLU product order (<see cref="GemmShape.GatedSource"/>).</summary>
public readonly struct GatedHalfColumns<TB>(TB inner, GemmShape s) : IHalfTileOperand where TB : struct, IHalfTileOperand
{
    private readonly TB _inner = inner;
    private readonly GemmShape _s = s;

    public bool KContiguous => _inner.KContiguous;

    public Half8 Chunk(int mn, int k0) => _inner.Chunk(_s.GatedSource(mn), k0);
}

/// <summary>
/// The im2col matrix of an fp16 image, bound to the calling thread's pixel column (loaded along mn). It is the inner
/// loop of every convolution, so an element costs a few instructions and no division or branch: a chunk finds the
/// patch position (c, r, s) of its first k by multiplying (R and S are constants of the specialised kernel), then steps
/// through the other seven; whether filter row r and column s fall inside the image are bits of two per-thread masks.
/// </summary>
public readonly struct HalfPatchOperand : IHalfTileOperand
{
    /// <summary>The largest filter height or width (a bit of a mask per row or column).</summary>
    public const int MaxFilterSize = 31;

    private readonly ArrayView<ushort> _bits;
    private readonly int _channels, _plane, _width, _r, _s, _origin, _insideRows, _insideCols;

    /// <summary>Filters of at most 31 rows and columns, and reduction indices (read up to a stage past the end) the division handles.</summary>
    public static bool Supports(Conv2dShape s) =>
        s.R <= MaxFilterSize && s.S <= MaxFilterSize && s.ReductionLength + 2 * TensorCoreLayout.Depth <= SmallDivision.DividendLimit;

    public HalfPatchOperand(F16View x, Conv2dShape s, int r, int sCols, int pixel)
    {
        _bits = x.Bits;
        _channels = s.C;
        _plane = s.H * s.W;
        _width = s.W;
        _r = r;
        _s = sCols;
        int pixels = s.OH * s.OW, n = pixel / pixels, p = pixel - n * pixels, oy = p / s.OW, ox = p - oy * s.OW;
        int iy0 = oy * s.Stride - s.PadTop, ix0 = ox * s.Stride - s.PadLeft;
        _origin = n * s.C * _plane + iy0 * s.W + ix0;   // element (c, r, s) is at _origin + c·H·W + r·W + s
        _insideRows = pixel < s.N * pixels ? InsideMask(iy0, r, s.H) : 0;
        _insideCols = InsideMask(ix0, sCols, s.W);
    }

    public bool KContiguous => false;

    public Half8 Chunk(int mn, int k0)
    {
        int rs = _r * _s, c = SmallDivision.Quotient(k0, rs), within = k0 - c * rs, row = SmallDivision.Quotient(within, _s);
        var p = new Cursor(c, row, within - row * _s, _origin + c * _plane + row * _width + within - row * _s);
        ushort h0 = Bits(p);
        p = Next(p);
        ushort h1 = Bits(p);
        p = Next(p);
        ushort h2 = Bits(p);
        p = Next(p);
        ushort h3 = Bits(p);
        p = Next(p);
        ushort h4 = Bits(p);
        p = Next(p);
        ushort h5 = Bits(p);
        p = Next(p);
        ushort h6 = Bits(p);
        p = Next(p);
        return Half8.Pack(h0, h1, h2, h3, h4, h5, h6, Bits(p));
    }

    /// <summary>Bit i set when start + i lies in [0, extent), for i &lt; count (≤ <see cref="MaxFilterSize"/>).</summary>
    private static int InsideMask(int start, int count, int extent)
    {
        int low = XMath.Clamp(-start, 0, count), high = XMath.Clamp(extent - start, 0, count);
        return ((1 << high) - 1) & ~((1 << low) - 1);
    }

    /// <summary>Patch position (channel, filter row, filter column) and the element index it reads.</summary>
    private readonly record struct Cursor(int C, int R, int S, int Offset);

    private Cursor Next(Cursor p)
    {
        int wrapColumn = p.S + 1 == _s ? 1 : 0, row = p.R + wrapColumn, wrapRow = row == _r ? 1 : 0;
        return new Cursor(p.C + wrapRow, row - wrapRow * _r, (p.S + 1) * (1 - wrapColumn),
            p.Offset + 1 + wrapColumn * (_width - _s) + wrapRow * (_plane - _r * _width));
    }

    private ushort Bits(Cursor p)
    {
        bool inside = (((_insideRows >> p.R) & (_insideCols >> p.S) & 1) != 0) & p.C < _channels;
        return inside ? _bits[p.Offset] : (ushort)0;
    }
}
