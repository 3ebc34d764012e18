using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.TensorCore;

/// <summary>One fp16 operand of the tensor-core matmul, read 8 reduction indices at a time (device code).</summary>
public interface IHalfTileOperand
{
    /// <summary>Whether consecutive k of one row are adjacent in memory (loaded along k) or consecutive rows are (loaded along mn).</summary>
    bool KContiguous { get; }

    /// <summary>Values (mn, k0 .. k0 + 7), zero outside the matrix; k0 is a multiple of 8.</summary>
    Half8 Chunk(int mn, int k0);

    /// <summary>
    /// A thread's four chunks of a stage: rows mn + 32·i at k0 along k, the whole stage row (k0 + 8·i) of row mn along
    /// mn, i = 0..3.
    /// </summary>
    ChunkQuad Chunks(int mn, int k0);

    /// <summary>Whether <see cref="CopyQuad"/> copies straight from global to shared memory (cp.async on the GPU; a kernel constant).</summary>
    bool CopiesDirectly { get; }

    /// <summary>Where the quad of <see cref="Chunks"/> at row <paramref name="mn"/> comes from, found once for the whole reduction (with <see cref="CopiesDirectly"/>).</summary>
    CopySources Sources(int mn);

    /// <summary>
    /// Operands that <see cref="CopiesDirectly"/> only: starts copying the quad of <see cref="Chunks"/> at
    /// (<paramref name="sources"/>' row, <paramref name="k0"/>) into the 16-byte slots <paramref name="first"/> +
    /// i·<paramref name="step"/> of <paramref name="shared"/> by cp.async (<see cref="AsyncCopy.WaitForStage"/> before the
    /// barrier; at once, from the same addresses, on ILGPU's CPU accelerator).
    /// </summary>
    void CopyQuad(CopySources sources, int k0, ArrayView<Half8> shared, int first, int step);
}

/// <summary>
/// The global sources of a thread's quad of chunks copied by cp.async (k-contiguous rows, 16-byte aligned): each row's
/// byte address at k = 0 (row 0's for a row outside the matrix) and whether it lies inside, so that a stage's copy only
/// adds its k offset. <see cref="Mn"/> is the quad's row, for copies that are plain stores.
/// </summary>
public readonly record struct CopySources(long Row0, long Row1, long Row2, long Row3, bool Inside0, bool Inside1, bool Inside2, bool Inside3, int Mn);

/// <summary>Four chunks of one operand, held in registers between a global load and the shared store.</summary>
public readonly record struct ChunkQuad(Half8 C0, Half8 C1, Half8 C2, Half8 C3)
{
    /// <summary>Rows a thread loads along k are this far apart (4 threads a row: 32 rows at a time).</summary>
    public const int RowStride = TensorCoreLayout.Threads / 4;

    /// <summary>The quad as <see cref="IHalfTileOperand.Chunks"/> defines it, one chunk at a time.</summary>
    public static ChunkQuad Of<T>(T op, int mn, int k0) where T : struct, IHalfTileOperand
    {
        int dm = RowsApart(op), dk = KApart(op);
        return new(op.Chunk(mn, k0), op.Chunk(mn + dm, k0 + dk), op.Chunk(mn + 2 * dm, k0 + 2 * dk), op.Chunk(mn + 3 * dm, k0 + 3 * dk));
    }

    /// <summary>Stores the quad into the slots <paramref name="first"/> + i·<paramref name="step"/>.</summary>
    public void Store(ArrayView<Half8> shared, int first, int step)
    {
        shared[first] = C0;
        shared[first + step] = C1;
        shared[first + 2 * step] = C2;
        shared[first + 3 * step] = C3;
    }

    private static int RowsApart<T>(T op) where T : struct, IHalfTileOperand => op.KContiguous ? RowStride : 0;

    private static int KApart<T>(T op) where T : struct, IHalfTileOperand => op.KContiguous ? 0 : 8;
}

/// <summary>
/// A dense row-major fp16 matrix starting at element <c>start</c> of <c>bits</c>, stored [mn, k] (k-contiguous) or
/// [k, mn]. With <c>vector</c> (k-contiguous, depth, start and the view's own start multiples of 8 halves, which the
/// launcher checks) a chunk is one 16-byte load: the view is reinterpreted whole, then sub-viewed in chunks at the
/// matrix's first one (never sub-viewed in halves first, so that the compiler can prove the alignment and emit
/// ld.global.v4). That base is found once, where the operand is made; each chunk adds a 32-bit offset to it (redoing
/// the 64-bit base in the main loop had cost the GEMM a quarter of its instructions). <typeparamref name="TC"/>: how
/// such chunks reach shared memory.
/// </summary>
public readonly struct HalfMatrixOperand<TC> : IHalfTileOperand where TC : struct, IOperandCopies
{
    private readonly ArrayView<ushort> _bits;
    private readonly ArrayView<Half8> _chunks;
    private readonly long _start, _address;
    private readonly int _rows, _depth, _rowChunks;
    private readonly bool _kContiguous, _vector, _direct;

    /// <param name="address">The global address of bits[0] (<see cref="GlobalAddress.Of"/>; ILGPU does not give device code its views' addresses), which cp.async needs.</param>
    public HalfMatrixOperand(ArrayView<ushort> bits, long address, long start, int rows, int depth, bool kContiguous, bool vector)
    {
        _bits = bits;
        _start = start;
        _address = LoopInvariant.Keep(address + 2 * start);
        _rows = rows;
        _depth = depth;
        _kContiguous = kContiguous;
        _vector = vector;
        _direct = vector && default(TC).Async;
        _chunks = vector ? bits.Cast<Half8>().SubView(start >> 3) : default;
        _rowChunks = LoopInvariant.Keep(depth >> 3);
    }

    /// <summary>Always with <c>vector</c>, so that a kernel specialised for it holds no code for the other layout.</summary>
    public bool KContiguous => _vector || _kContiguous;

    public Half8 Chunk(int mn, int k0)
    {
        if (mn >= _rows || k0 >= _depth) return default;
        // A 32-bit offset within the matrix (fewer than 2³¹ chunks, which the launcher checks).
        if (_vector) return _chunks[mn * _rowChunks + (k0 >> 3)];
        return Half8.Pack(Bits(mn, k0), Bits(mn, k0 + 1), Bits(mn, k0 + 2), Bits(mn, k0 + 3),
            Bits(mn, k0 + 4), Bits(mn, k0 + 5), Bits(mn, k0 + 6), Bits(mn, k0 + 7));
    }

    public ChunkQuad Chunks(int mn, int k0) => ChunkQuad.Of(this, mn, k0);

    /// <summary>With <c>vector</c> and <see cref="IOperandCopies.Async"/> copies: 16-byte rows, copied by cp.async.</summary>
    public bool CopiesDirectly => _direct;

    public CopySources Sources(int mn) => SourcesOf(mn, mn, mn + ChunkQuad.RowStride, mn + 2 * ChunkQuad.RowStride, mn + 3 * ChunkQuad.RowStride);

    /// <summary>The sources of rows <paramref name="r0"/> … <paramref name="r3"/>, a quad at row <paramref name="mn"/>.</summary>
    public CopySources SourcesOf(int mn, int r0, int r1, int r2, int r3) =>
        new(RowAddress(r0), RowAddress(r1), RowAddress(r2), RowAddress(r3), r0 < _rows, r1 < _rows, r2 < _rows, r3 < _rows, mn);

    /// <summary>
    /// The cp.async copies (<see cref="CopiesDirectly"/> only), per copy one 64-bit add and a predicate: past the depth
    /// the offset is 0 (the copies then read nothing and zero the slots, and no address leaves the matrix). Finding
    /// each chunk's address anew had cost ~9 instructions a copy.
    /// </summary>
    public void CopyQuad(CopySources sources, int k0, ArrayView<Half8> shared, int first, int step)
    {
        bool alongK = k0 < _depth;
        long offset = alongK ? 2L * k0 : 0;   // bytes: k0 halves
        var copies = default(TC);
        copies.Chunk(shared, first, sources.Row0 + offset, alongK & sources.Inside0);
        copies.Chunk(shared, first + step, sources.Row1 + offset, alongK & sources.Inside1);
        copies.Chunk(shared, first + 2 * step, sources.Row2 + offset, alongK & sources.Inside2);
        copies.Chunk(shared, first + 3 * step, sources.Row3 + offset, alongK & sources.Inside3);
    }

    /// <summary>Row <paramref name="mn"/>'s byte address (row 0's outside the matrix), kept out of the main loop.</summary>
    private long RowAddress(int mn) => LoopInvariant.Keep(_address + 16L * (mn < _rows ? mn : 0) * _rowChunks);

    private ushort Bits(int mn, int k) =>
        k >= _depth ? (ushort)0 : _bits[_start + (_kContiguous ? (long)mn * _depth + k : (long)k * _rows + mn)];
}

/// <summary>op(B) read in the GEGLU product order (<see cref="GemmShape.GatedSource"/>).</summary>
public readonly struct GatedHalfColumns<TC>(HalfMatrixOperand<TC> inner, GemmShape s) : IHalfTileOperand where TC : struct, IOperandCopies
{
    private readonly HalfMatrixOperand<TC> _inner = inner;
    private readonly GemmShape _s = s;

    public bool KContiguous => _inner.KContiguous;

    public Half8 Chunk(int mn, int k0) => _inner.Chunk(_s.GatedSource(mn), k0);

    public ChunkQuad Chunks(int mn, int k0) => ChunkQuad.Of(this, mn, k0);

    public bool CopiesDirectly => _inner.CopiesDirectly;

    public CopySources Sources(int mn) => _inner.SourcesOf(mn, _s.GatedSource(mn), _s.GatedSource(mn + ChunkQuad.RowStride),
        _s.GatedSource(mn + 2 * ChunkQuad.RowStride), _s.GatedSource(mn + 3 * ChunkQuad.RowStride));

    /// <summary>The inner operand's copies, from the gated rows' sources (<see cref="Sources"/>).</summary>
    public void CopyQuad(CopySources sources, int k0, ArrayView<Half8> shared, int first, int step) => _inner.CopyQuad(sources, k0, shared, first, step);
}

/// <summary>
/// The im2col matrix of an fp16 image in the reduction order of a <see cref="TapMajorFilter"/> (k = tap·Cp + channel),
/// bound to the calling thread's pixel column (loaded along mn). It is the inner loop of every convolution: a chunk's
/// 8 indices are 8 channels of one filter tap, so the chunk finds its tap and first channel once (a multiply by a
/// precomputed reciprocal), then reads one plane apart per element; which taps fall inside the image is a bit of a
/// per-thread mask, and channels past C (the filter's zero padding) read nothing. With a channel count that is a
/// multiple of 32 (every SD convolution but the 3- and 4-channel ones) the kernel is specialised on the image's plane:
/// a stage's 32 indices are then 32 channels of one tap, all inside or all outside the image, so a thread finds one
/// tap and one address per stage, and its 16 loads sit at offsets the compiler folds into the load instructions.
/// Read upsampled, a tap's row and column are halved on the way (<see cref="TapPixels"/>).
/// </summary>
public readonly struct HalfPatchOperand : IHalfTileOperand
{
    private readonly ArrayView<ushort> _bits, _zeros;
    private readonly PatchTaps _taps;
    private readonly TapPixels _pixels;
    private readonly int _channels, _plane, _origin;
    private readonly bool _wholeStages;

    /// <summary>What the kernel specialises on: the image's plane H·W when a stage never spans two taps (C a multiple of 32), else 0.</summary>
    public static int StagePlane(Conv2dShape s) => s.C % TensorCoreLayout.Depth == 0 ? s.SourcePlane : 0;

    /// <summary>Zeros a convolution of <paramref name="stagePlane"/> reads where a stage's tap lies outside the image: its 32 channels, a plane apart.</summary>
    public static long ZeroLength(int stagePlane) => (TensorCoreLayout.Depth - 1L) * stagePlane + 1;

    /// <param name="stagePlane"><see cref="StagePlane"/> of <paramref name="s"/> (a constant of the kernel).</param>
    /// <param name="upsample"><paramref name="s"/>'s <see cref="Conv2dShape.Upsample"/> (a constant of the kernel).</param>
    /// <param name="zeros">With a <paramref name="stagePlane"/>: at least <see cref="ZeroLength"/> zeros, what a stage's taps outside the image read.</param>
    public HalfPatchOperand(F16View x, Conv2dShape s, int r, int sCols, int pixel, int stagePlane, int upsample, F16View zeros)
    {
        _bits = x.Bits;
        _zeros = zeros.Bits;
        _channels = s.C;
        _wholeStages = stagePlane != 0;
        _plane = _wholeStages ? stagePlane : s.SourcePlane;
        var window = PatchWindow.Of(s, pixel);
        _taps = new PatchTaps(s, r, sCols, window);
        _pixels = new TapPixels(s, window, upsample);
        // Tap (c, r, s) is at _origin + c·plane + its pixel (kept where it is computed: ILGPU would move it into the main loop).
        _origin = LoopInvariant.Keep(window.ImageBase + _pixels.Origin);
    }

    public bool KContiguous => false;

    /// <summary>A gather of 2-byte elements: through registers, a stage ahead.</summary>
    public bool CopiesDirectly => false;

    // Never called (no direct copies); the interface asks for them.
    public CopySources Sources(int mn) => new(0, 0, 0, 0, false, false, false, false, mn);

    public void CopyQuad(CopySources sources, int k0, ArrayView<Half8> shared, int first, int step) => Chunks(sources.Mn, k0).Store(shared, first, step);

    public Half8 Chunk(int mn, int k0)
    {
        var chunk = Locate(k0);
        int at = chunk.At, count = chunk.Inside ? XMath.Clamp(_channels - chunk.Channel, 0, 8) : 0;   // elements [0, count) are read
        return new Half8 { X = Pair(at, 0, count), Y = Pair(at, 2, count), Z = Pair(at, 4, count), W = Pair(at, 6, count) };
    }

    public ChunkQuad Chunks(int mn, int k0)
    {
        if (!_wholeStages) return ChunkQuad.Of(this, mn, k0);
        // The stage is 32 channels of one tap. Outside the image the same loads read zeros, a plane apart (one select of
        // the address a stage, where clearing the loaded words took 16 a stage).
        var chunk = Locate(k0);
        var channels = chunk.Inside ? _bits.SubView(chunk.At) : _zeros;
        return new(Eight(channels, 0), Eight(channels, 8), Eight(channels, 16), Eight(channels, 24));
    }

    /// <summary>Where the chunk of reduction index k0 starts in the image (a value, not out parameters, which ILGPU would put in local memory).</summary>
    private ChunkPosition Locate(int k0)
    {
        var tap = _taps.Locate(k0);
        return new(_origin + tap.Channel * _plane + _pixels.Of(tap), tap.Channel, tap.Inside);
    }

    /// <param name="At">Offset of the chunk's first channel.</param>
    /// <param name="Channel">That channel.</param>
    /// <param name="Inside">Whether its tap lies inside the image (and not past the taps, a stage past the depth).</param>
    private readonly record struct ChunkPosition(int At, int Channel, bool Inside);

    /// <summary>Channels e and e + 1 of the chunk at <paramref name="at"/>, packed as in <see cref="Half8"/>.</summary>
    private uint Pair(int at, int e, int count) => Bits(at + e * _plane, e < count) | (uint)Bits(at + (e + 1) * _plane, e + 1 < count) << 16;

    private ushort Bits(int offset, bool read) => read ? _bits[offset] : (ushort)0;

    /// <summary>Channels first … first + 7 from <paramref name="channels"/>.</summary>
    private Half8 Eight(ArrayView<ushort> channels, int first) => new()
    {
        X = Two(channels, first), Y = Two(channels, first + 2), Z = Two(channels, first + 4), W = Two(channels, first + 6),
    };

    /// <summary>Channels e and e + 1 at 64-bit offsets, so that the constant plane folds into each load.</summary>
    private uint Two(ArrayView<ushort> channels, int e) => channels[e * (long)_plane] | (uint)channels[(e + 1) * (long)_plane] << 16;
}
