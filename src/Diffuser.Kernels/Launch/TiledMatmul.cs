using ILGPU;

namespace Diffuser.Kernels.Launch;

/// <summary>One operand of a tiled matrix product, read element by element: (mn, k) → value, zero outside.</summary>
public interface ITileOperand
{
    /// <summary>Element at output row/column <paramref name="mn"/> and reduction index <paramref name="k"/>; 0 outside the matrix.</summary>
    float Fetch(int mn, int k);
}

/// <summary>
/// The shared-memory core of GEMM and implicit-GEMM convolution (device code): a 128×128 output tile per group of
/// 256 threads, reduction tiles of 16 staged through shared memory (k-major, padded rows), each thread accumulating an
/// 8×8 register tile. The next reduction tile is fetched into registers while the current one is multiplied.
/// Operands are loaded so that consecutive threads read consecutive addresses: along k when the operand is stored
/// k-contiguous, along rows/columns otherwise.
/// </summary>
public static class TiledMatmul
{
    public const int Size = 128;
    public const int Depth = 16;
    public const int Threads = 256;
    /// <summary>Row length of a shared tile: 2 words of padding make k-contiguous stores bank-conflict free.</summary>
    public const int Ld = Size + 2;
    public const int SharedLength = Depth * Ld;

    /// <summary>
    /// Computes the tile at (row0, col0) of op(A)·op(B) over reduction indices [kBegin, kEnd) and hands every element
    /// to <paramref name="epilogue"/>. kBegin must be a multiple of <see cref="Depth"/>. Every thread of the group must
    /// call it (it contains barriers).
    /// </summary>
    public static void Run<TA, TB, TE>(ref TA a, bool aKContiguous, ref TB b, bool bKContiguous, int kBegin, int kEnd,
        int row0, int col0, ref TE epilogue, ArrayView<float> tileA, ArrayView<float> tileB)
        where TA : struct, ITileOperand where TB : struct, ITileOperand where TE : struct, ITileEpilogue =>
        Accumulate(ref a, aKContiguous, ref b, bKContiguous, kBegin, kEnd, row0, col0, tileA, tileB)
            .Store(ref epilogue, row0 + (Group.IdxX >> 4), col0 + (Group.IdxX & 15));

    /// <summary>As <see cref="Run"/>, for a product tile of 64 value columns then their 64 gate columns (fused GEGLU).</summary>
    public static void RunGated<TA, TB, TE>(ref TA a, bool aKContiguous, ref TB b, bool bKContiguous, int kBegin, int kEnd,
        int row0, int col0, ref TE epilogue, ArrayView<float> tileA, ArrayView<float> tileB)
        where TA : struct, ITileOperand where TB : struct, ITileOperand where TE : struct, IGatedEpilogue =>
        Accumulate(ref a, aKContiguous, ref b, bKContiguous, kBegin, kEnd, row0, col0, tileA, tileB)
            .StoreGated(ref epilogue, row0 + (Group.IdxX >> 4), col0 + (Group.IdxX & 15));

    /// <summary>This thread's 8×8 register tile of the product tile at (row0, col0).</summary>
    private static MicroTile8x8 Accumulate<TA, TB>(ref TA a, bool aKContiguous, ref TB b, bool bKContiguous, int kBegin, int kEnd,
        int row0, int col0, ArrayView<float> tileA, ArrayView<float> tileB)
        where TA : struct, ITileOperand where TB : struct, ITileOperand
    {
        var acc = default(MicroTile8x8);
        // Per-thread positions, found once and kept out of the loop (ILGPU would move them in; ptxas divides slowly).
        var slotsA = Slots.Of(aKContiguous);
        var slotsB = Slots.Of(bKContiguous);
        int microRow = LoopInvariant.Keep(Group.IdxX >> 4), microCol = LoopInvariant.Keep(Group.IdxX & 15);
        var stageA = Load(ref a, aKContiguous, slotsA, row0, kBegin);
        var stageB = Load(ref b, bKContiguous, slotsB, col0, kBegin);
        for (int k0 = kBegin; k0 < kEnd; k0 += Depth)
        {
            Group.Barrier();
            stageA.Store(tileA, slotsA.Shared, slotsA.SharedStride);
            stageB.Store(tileB, slotsB.Shared, slotsB.SharedStride);
            Group.Barrier();
            // Past the last tile this reads zeros (beyond the depth) or values of the next split that are never
            // stored: unconditional, so the loaded values need no copies between registers.
            stageA = Load(ref a, aKContiguous, slotsA, row0, k0 + Depth);
            stageB = Load(ref b, bKContiguous, slotsB, col0, k0 + Depth);
            acc.Accumulate(tileA, tileB, Ld, Depth, microRow, microCol);
        }
        return acc;
    }

    /// <summary>This thread's 8 elements of the operand tile [mn0, mn0 + 128) × [k0, k0 + 16).</summary>
    private static Row8 Load<T>(ref T op, bool kContiguous, Slots slots, int mn0, int k0) where T : struct, ITileOperand
    {
        int mn = mn0 + slots.Mn, k = k0 + slots.K;
        if (kContiguous)
        {
            // 16 threads read 16 consecutive k of one row; rows t/16 + 16i.
            return new Row8
            {
                V0 = op.Fetch(mn, k), V1 = op.Fetch(mn + 16, k), V2 = op.Fetch(mn + 32, k), V3 = op.Fetch(mn + 48, k),
                V4 = op.Fetch(mn + 64, k), V5 = op.Fetch(mn + 80, k), V6 = op.Fetch(mn + 96, k), V7 = op.Fetch(mn + 112, k),
            };
        }
        // 128 threads read 128 consecutive rows/columns of one k; k = t/128 + 2i.
        return new Row8
        {
            V0 = op.Fetch(mn, k), V1 = op.Fetch(mn, k + 2), V2 = op.Fetch(mn, k + 4), V3 = op.Fetch(mn, k + 6),
            V4 = op.Fetch(mn, k + 8), V5 = op.Fetch(mn, k + 10), V6 = op.Fetch(mn, k + 12), V7 = op.Fetch(mn, k + 14),
        };
    }

    /// <summary>
    /// Where this thread's 8 elements of an operand tile come from (tile offsets along mn and k) and go to (the first
    /// shared-memory index and the step between them), fixed for the whole reduction.
    /// </summary>
    private readonly struct Slots(int mn, int k, int shared, int sharedStride)
    {
        public readonly int Mn = mn, K = k, Shared = shared, SharedStride = sharedStride;

        public static Slots Of(bool kContiguous)
        {
            int t = Group.IdxX;
            return kContiguous
                ? Kept(t >> 4, t & 15, (t & 15) * Ld + (t >> 4), 16)
                : Kept(t & (Size - 1), t >> 7, (t >> 7) * Ld + (t & (Size - 1)), 2 * Ld);
        }

        private static Slots Kept(int mn, int k, int shared, int sharedStride) =>
            new(LoopInvariant.Keep(mn), LoopInvariant.Keep(k), LoopInvariant.Keep(shared), sharedStride);
    }
}

/// <summary>
/// Stores raw sums of one reduction split into a row-major [rows, cols] slice of a workspace; a reduce kernel (or the
/// splits themselves, <see cref="SplitReduction"/>) then adds the splits in a fixed order (deterministic, unlike atomics) and
/// applies the real epilogue.
/// </summary>
public struct PartialEpilogue : ITileEpilogue
{
    private readonly ArrayView<float> _workspace;
    private readonly int _rows, _cols;
    private readonly bool _chunkedRows;
    private int _col;

    /// <param name="start">The split's first float in <paramref name="workspace"/> (its rows·cols follow).</param>
    /// <param name="chunkedRows">
    /// Whether cols and start are multiples of 8 (a kernel constant): a chunk of 8 columns is then two 16-byte stores.
    /// </param>
    public PartialEpilogue(ArrayView<float> workspace, long start, int rows, int cols, bool chunkedRows)
    {
        // Kept where it is computed: ILGPU would move the 64-bit offset into the store loop, once per element.
        long first = LoopInvariant.Keep(start), length = (long)rows * cols;
        _workspace = chunkedRows ? new F32View(workspace).ChunkSubView(first, length).Data : workspace.SubView(first, length);
        _rows = rows;
        _cols = cols;
        _chunkedRows = chunkedRows;
    }

    public readonly void Store(int row, int col, float acc)
    {
        if (row < _rows && col < _cols) _workspace[row * _cols + col] = acc;
    }

    public void BindChunk(int col) => _col = col;

    /// <summary>Nothing: raw sums are stored as they are.</summary>
    public readonly ChunkInputs LoadChunk(int row) => default;

    public readonly void StoreChunk(int row, in Row8 acc, in ChunkInputs inputs)
    {
        if (row >= _rows) return;
        int at = row * _cols + _col;
        if (_chunkedRows)
        {
            if (_col < _cols) new F32View(_workspace).StoreEight(at, acc);
            return;
        }
        Put(at, 0, acc.V0); Put(at, 1, acc.V1); Put(at, 2, acc.V2); Put(at, 3, acc.V3);
        Put(at, 4, acc.V4); Put(at, 5, acc.V5); Put(at, 6, acc.V6); Put(at, 7, acc.V7);
    }

    private readonly void Put(int at, int j, float acc)
    {
        if (_col + j < _cols) _workspace[at + j] = acc;
    }
}

/// <summary>A dense row-major matrix as a tile operand: stored [mn, k] (k-contiguous) or [k, mn].</summary>
public struct MatrixOperand<T> : ITileOperand where T : struct, IElementView<T>
{
    private readonly T _data;
    private readonly int _rows, _depth;
    private readonly bool _kContiguous;

    public MatrixOperand(T data, int rows, int depth, bool kContiguous)
    {
        _data = data;
        _rows = rows;
        _depth = depth;
        _kContiguous = kContiguous;
    }

    public readonly bool KContiguous => _kContiguous;

    public readonly float Fetch(int mn, int k)
    {
        if (mn >= _rows || k >= _depth) return 0f;
        return _kContiguous ? _data.Load(mn * _depth + k) : _data.Load(k * _rows + mn);
    }
}
