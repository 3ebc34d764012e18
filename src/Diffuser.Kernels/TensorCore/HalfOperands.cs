using System.Runtime.InteropServices;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;

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
public readonly struct HalfMatrixOperand(ArrayView<ushort> bits, long start, int rows, int depth, bool kContiguous, bool vector) : IHalfTileOperand
{
    private readonly ArrayView<ushort> _bits = bits;
    private readonly long _start = start;
    private readonly int _rows = rows, _depth = depth;
    private readonly bool _kContiguous = kContiguous, _vector = vector;

    public bool KContiguous => _kContiguous;

    public Half8 Chunk(int mn, int k0)
    {
        if (mn >= _rows || k0 >= _depth) return default;
        if (_vector) return _bits.Cast<Half8>()[(_start + (long)mn * _depth + k0) / 8];
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

/// <summary>The im2col matrix of an fp16 image, bound to the calling thread's pixel column (loaded along mn).</summary>
public readonly struct HalfPatchOperand(PatchOperand<F16View> patches, F16View x) : IHalfTileOperand
{
    private readonly PatchOperand<F16View> _patches = patches;
    private readonly ArrayView<ushort> _bits = x.Bits;

    public bool KContiguous => false;

    public Half8 Chunk(int mn, int k0) => Half8.Pack(Bits(k0), Bits(k0 + 1), Bits(k0 + 2), Bits(k0 + 3),
        Bits(k0 + 4), Bits(k0 + 5), Bits(k0 + 6), Bits(k0 + 7));

    private ushort Bits(int k)
    {
        int index = _patches.Index(k);
        return index < 0 ? (ushort)0 : _bits[index];
    }
}
