using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using System.Runtime.CompilerServices;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The block-level tensor-core matmul (device code; the layout is <see cref="TensorCoreLayout"/>): operand chunks of
/// 8 halves go global → shared through <see cref="TensorCoreLayout.Stages"/> stages (copied by cp.async
/// <see cref="IWarpMma.StagesAhead"/> stages ahead of the tensor cores, or fetched into registers one stage ahead and
/// stored when their stage comes), each warp runs two k16 steps per stage, and the result leaves through a per-warp
/// fp32 staging area, one m16 tile at a time, so that each lane hands whole coalesced rows to the epilogue. Every
/// thread of the group must call every method (barriers, warp-synchronous instructions).
/// </summary>
public static class TensorCoreMatmul
{
    /// <summary>
    /// Accumulates the product tile at (row0, col0) over reduction indices [kBegin, kEnd) into <paramref name="mma"/>.
    /// Rows that all lie at or past <paramref name="rows"/> skip the tensor cores (<see cref="IWarpMma.Inside"/>,
    /// warp-uniform): in the last row tile of 320 filters (rows 256–319 real, 320–383 not), or of a product of at most
    /// 64 rows, half the warps (a warp group's second half) would multiply zeros, and the group beside it on the
    /// multiprocessor gets their tensor cores instead.
    /// </summary>
    public static void Accumulate<TA, TB, TM>(ref TA a, ref TB b, ref TM mma, int kBegin, int kEnd, int row0, int col0, int rows, ArrayView<Half8> shared)
        where TA : struct, IHalfTileOperand where TB : struct, IHalfTileOperand where TM : struct, IWarpMma
    {
        var loadA = new StageLoader<TA>(ref a, ChunkSlots.Of(a.KContiguous, 0), row0);
        var loadB = new StageLoader<TB>(ref b, ChunkSlots.Of(b.KContiguous, TensorCoreLayout.TileSlots), col0);
        bool copies = a.CopiesDirectly || b.CopiesDirectly;   // a kernel constant: no wait where nothing is copied
        mma.Zero();
        loadA.Load(ref a, row0, kBegin);
        loadB.Load(ref b, col0, kBegin);
        // The copies of the first stages, a commit group each, so that a stage's wait leaves the later ones running.
        for (int ahead = 0; ahead < mma.StagesAhead; ahead++)
        {
            loadA.Copy(ref a, kBegin + ahead * TensorCoreLayout.Depth, shared, ahead * TensorCoreLayout.StageBytes);
            loadB.Copy(ref b, kBegin + ahead * TensorCoreLayout.Depth, shared, ahead * TensorCoreLayout.StageBytes);
            if (copies) AsyncCopy.Commit();
        }
        // ILGPU emits one loop (one bar.sync that every thread passes) with the mma behind this warp-uniform test;
        // written as two calls, ptxas then splits it into two loops, one with the mma and one without (each with its
        // BAR.SYNC, reached by whole warps), and the first is the loop as it was. The same test written inline around
        // the mma stayed in the loop: 24 more instructions a stage.
        if (LoopInvariant.Keep(mma.Inside(row0, rows) ? 1 : 0) != 0)
            Stages(ref a, ref b, ref mma, ref loadA, ref loadB, kBegin, kEnd, row0, col0, shared, inside: true);
        else Stages(ref a, ref b, ref mma, ref loadA, ref loadB, kBegin, kEnd, row0, col0, shared, inside: false);
        mma.Drain();
        if (copies) AsyncCopy.WaitAll();   // the copies past the last stage land before the staging area below reuses the stages
        Group.Barrier();
    }

    /// <summary>The stages of <see cref="Accumulate"/>: loads and barriers for every warp, the mma's step, or its step past the rows where not <paramref name="inside"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stages<TA, TB, TM>(ref TA a, ref TB b, ref TM mma, ref StageLoader<TA> loadA, ref StageLoader<TB> loadB, int kBegin, int kEnd,
        int row0, int col0, ArrayView<Half8> shared, bool inside)
        where TA : struct, IHalfTileOperand where TB : struct, IHalfTileOperand where TM : struct, IWarpMma
    {
        var halves = shared.Cast<ushort>();
        bool copies = a.CopiesDirectly || b.CopiesDirectly;
        int ahead = mma.StagesAhead, depthAhead = ahead * TensorCoreLayout.Depth;
        int stage = 0, previous = (TensorCoreLayout.Stages - 1) * TensorCoreLayout.StageBytes;   // byte offsets of stages
        for (int k0 = kBegin; k0 < kEnd; k0 += TensorCoreLayout.Depth)
        {
            // One barrier per stage. A stage is stored or copied into after every warp has passed the barrier that
            // follows its last reading. Of three stages, the one two ahead is the previous one, whose steps were done
            // when the warps passed this barrier; the one one ahead is the stage before the previous, whose steps
            // (still running past their stage, Drain) the previous stage's last step waited for. The registers loaded
            // one stage ahead are stored into this stage, last read three stages ago.
            int next = NextStage(stage), copyStage = ahead == 1 ? next : previous;
            loadA.Place(ref a, shared, stage);
            loadB.Place(ref b, shared, stage);
            if (copies) AsyncCopy.WaitForStage(ahead);
            mma.PublishStores();
            Group.Barrier();
            // Past the last stage these read zeros (beyond the depth) or values of the next split that are never
            // used: unconditional, so the loaded chunks need no copies between registers.
            loadA.Copy(ref a, k0 + depthAhead, shared, copyStage);
            loadB.Copy(ref b, k0 + depthAhead, shared, copyStage);
            if (copies) AsyncCopy.Commit();
            loadA.Load(ref a, row0, k0 + TensorCoreLayout.Depth);
            loadB.Load(ref b, col0, k0 + TensorCoreLayout.Depth);
            if (inside)
            {
                mma.Step(halves, stage, 0);
                mma.Step(halves, stage, 1);
            }
            else
            {
                mma.StepPast(halves, stage, 0);
                mma.StepPast(halves, stage, 1);
            }
            previous = stage;
            stage = next;
        }
    }

    /// <summary>The byte offset of the stage after the one at byte <paramref name="stage"/>.</summary>
    private static int NextStage(int stage) => stage == (TensorCoreLayout.Stages - 1) * TensorCoreLayout.StageBytes ? 0 : stage + TensorCoreLayout.StageBytes;

    /// <summary>
    /// Hands every element of the tile to <paramref name="epilogue"/>, eight adjacent columns at a time (what depends
    /// on the row is found once per chunk; aligned outputs take one 16-byte store): lane l takes staged columns
    /// 8·(l%8) … +7 of rows l/8 + 4·r (r = 0..3) of each m16 tile.
    /// </summary>
    public static void Store<TM, TE>(ref TM mma, ref TE epilogue, int row0, int col0, ArrayView<Half8> shared)
        where TM : struct, IWarpMma where TE : struct, ITileEpilogue
    {
        var chunks = new RowChunks<TE>(epilogue);
        HandOver(ref mma, ref chunks, row0, col0, Warp.LaneIdx >> 3, 8 * (Warp.LaneIdx & 7), shared);
    }

    /// <summary>
    /// As <see cref="Store"/> for a GEGLU product tile: staged columns c &lt; 32 are values whose gates are staged
    /// column c + 32 (64 tile columns on); lane l takes values 8·(l%4) … +7 and their gates of rows l/4 and l/4 + 8 of
    /// each m16 tile.
    /// </summary>
    public static void StoreGated<TM, TE>(ref TM mma, ref TE epilogue, int row0, int col0, ArrayView<Half8> shared)
        where TM : struct, IWarpMma where TE : struct, IGatedEpilogue
    {
        var chunks = new GatedChunks<TE>(epilogue);
        HandOver(ref mma, ref chunks, row0, col0, Warp.LaneIdx >> 2, 8 * (Warp.LaneIdx & 3), shared);
    }

    /// <summary>
    /// The splits of the tile at (row0, col0), number <paramref name="tile"/>, finish it (<see cref="SplitReduction.Finish"/>):
    /// in each block of rows a split claims, thread t adds the splits' raw sums of columns col0 + 8·(t%16) … +7 in rows
    /// row0 + t/16 + 8·j and hands them to the epilogue 8 columns at a time, as <see cref="Store"/> does. The raw sums
    /// of split k lie at start + k·splitStride, rows of <paramref name="columns"/>; with <paramref name="chunked"/>
    /// (columns, start and split stride multiples of 8, a kernel constant) a thread's 8 columns of a split are two
    /// 16-byte loads. <paramref name="slot"/> is one int of shared memory.
    /// </summary>
    public static void StoreSplitSums<TE>(in SplitReduction reduction, TE epilogue, int tile, int splits, int start, int splitStride, int rows, int columns,
        int row0, int col0, bool chunked, ArrayView<int> slot) where TE : struct, ITileEpilogue
    {
        var sums = new SplitSums<TE>(reduction, epilogue, splits, start, splitStride, rows, columns, row0, col0, chunked);
        reduction.Finish(tile, splits, ref sums, slot);
    }

    /// <summary>
    /// As <see cref="StoreSplitSums"/> for a GEGLU product tile: thread t takes value columns col0 + 8·(t%8) … +7 and
    /// their gates 64 columns on, in rows row0 + t/8 + 16·j.
    /// </summary>
    public static void StoreGatedSplitSums<TE>(in SplitReduction reduction, TE epilogue, int tile, int splits, int start, int splitStride, int rows, int columns,
        int row0, int col0, bool chunked, ArrayView<int> slot) where TE : struct, IGatedEpilogue
    {
        var sums = new GatedSplitSums<TE>(reduction, epilogue, splits, start, splitStride, rows, columns, row0, col0, chunked);
        reduction.Finish(tile, splits, ref sums, slot);
    }

    /// <summary>A thread's 8 columns of rows row0 + t/16 + 8·step (16 steps) of a split tile, to an epilogue.</summary>
    private struct SplitSums<TE> : ISplitRows where TE : struct, ITileEpilogue
    {
        private const int Chunks = TensorCoreLayout.Size / 8, ChunkBits = 4, RowStep = TensorCoreLayout.Threads / Chunks;

        private readonly SplitReduction _reduction;
        private TE _epilogue;
        private readonly int _splits, _at, _first, _rows, _columns, _splitStride, _count;
        private readonly bool _chunked;

        public SplitSums(in SplitReduction reduction, TE epilogue, int splits, int start, int splitStride, int rows, int columns, int row0, int col0, bool chunked)
        {
            int col = col0 + 8 * (Group.IdxX & (Chunks - 1));
            (_reduction, _epilogue, _splits, _at, _first, _rows, _columns) = (reduction, epilogue, splits, start + col, row0 + (Group.IdxX >> ChunkBits), rows, columns);
            (_splitStride, _count, _chunked) = (splitStride, XMath.Clamp(columns - col, 0, 8), chunked);
            _epilogue.BindChunk(col);
        }

        public readonly int StepBits => 4;

        public void Finish(int step)
        {
            int row = _first + step * RowStep;
            if (row >= _rows) return;
            var inputs = _epilogue.LoadChunk(row);   // loaded before the sums, to wait on memory alongside them
            _epilogue.StoreChunk(row, _reduction.Sums(_at + row * _columns, _splitStride, _splits, _count, _chunked), inputs);
        }
    }

    /// <summary>A thread's 8 value columns and their gates 64 columns on, of rows row0 + t/8 + 16·step (8 steps) of a split GEGLU tile, to an epilogue.</summary>
    private struct GatedSplitSums<TE> : ISplitRows where TE : struct, IGatedEpilogue
    {
        private const int Chunks = TensorCoreLayout.Size / 2 / 8, ChunkBits = 3, RowStep = TensorCoreLayout.Threads / Chunks, Gates = TensorCoreLayout.Size / 2;

        private readonly SplitReduction _reduction;
        private TE _epilogue;
        private readonly int _splits, _at, _first, _rows, _columns, _splitStride, _count, _gateCount;
        private readonly bool _chunked;

        public GatedSplitSums(in SplitReduction reduction, TE epilogue, int splits, int start, int splitStride, int rows, int columns, int row0, int col0, bool chunked)
        {
            int col = col0 + 8 * (Group.IdxX & (Chunks - 1));
            (_reduction, _epilogue, _splits, _at, _first, _rows, _columns) = (reduction, epilogue, splits, start + col, row0 + (Group.IdxX >> ChunkBits), rows, columns);
            (_splitStride, _count, _gateCount, _chunked) = (splitStride, XMath.Clamp(columns - col, 0, 8), XMath.Clamp(columns - col - Gates, 0, 8), chunked);
            _epilogue.BindGatedChunk(col);
        }

        public readonly int StepBits => 3;

        public void Finish(int step)
        {
            int row = _first + step * RowStep, at = _at + row * _columns;
            if (row < _rows)
                _epilogue.StoreGatedChunk(row, _reduction.Sums(at, _splitStride, _splits, _count, _chunked),
                    _reduction.Sums(at + Gates, _splitStride, _splits, _gateCount, _chunked));
        }
    }

    /// <summary>
    /// Stages each m16 tile the warp computes and hands <paramref name="chunks"/> this lane's place in it: staged row
    /// <paramref name="g"/>, column <paramref name="c"/> (the epilogue's columns bound anew where the column half changes).
    /// </summary>
    private static void HandOver<TM, TC>(ref TM mma, ref TC chunks, int row0, int col0, int g, int c, ArrayView<Half8> shared)
        where TM : struct, IWarpMma where TC : struct, IStagedChunks
    {
        var staging = shared.Cast<float>();
        var quads = shared.Cast<Float4>();
        int at = LoopInvariant.Keep((TensorCoreLayout.WarpOf(Group.IdxX) * TensorCoreLayout.StagingFloats + g * TensorCoreLayout.StagingPitch + c) >> 2);
        int rowBase = LoopInvariant.Keep(row0 + g);
        // The lane's first column in either column half, found once; a warp's tiles all have one (the test in the loop
        // then compares a value with itself, and the binding leaves the loop), a warp group's alternate.
        int first = LoopInvariant.Keep(col0 + TensorCoreLayout.StagedColumn(mma.ColumnHalf(0), c));
        int second = LoopInvariant.Keep(col0 + TensorCoreLayout.StagedColumn(mma.ColumnHalf(1), c));
        chunks.Bind(first);
        for (int i = 0; i < mma.MTiles; i++)
        {
            if (i > 0 && mma.ColumnHalf(i) != mma.ColumnHalf(i - 1)) chunks.Bind(mma.ColumnHalf(i) == mma.ColumnHalf(0) ? first : second);
            mma.Stage(staging, i);
            Warp.Barrier();
            chunks.Take(quads, at, rowBase + mma.TileRow(i));
            Warp.Barrier();
        }
    }

    /// <summary>Receives a lane's staged values of one m16 tile (device code).</summary>
    private interface IStagedChunks
    {
        /// <summary>Binds the epilogue to the tile column of the lane's first staged column.</summary>
        void Bind(int column);

        /// <param name="staging">The staging area in 16-byte quads.</param>
        /// <param name="at">The quad of the lane's first staged value.</param>
        /// <param name="row">Its output row.</param>
        void Take(ArrayView<Float4> staging, int at, int row);
    }

    /// <summary>
    /// Eight columns of a row and of the rows 4, 8 and 12 below, to an epilogue whose columns are bound: the four rows'
    /// inputs are loaded before the first is stored.
    /// </summary>
    private struct RowChunks<TE>(TE epilogue) : IStagedChunks where TE : struct, ITileEpilogue
    {
        private const int FourRows = 4 * TensorCoreLayout.StagingPitch / 4;   // in quads

        private TE _epilogue = epilogue;   // bound per column half (BindChunk keeps the column)

        public void Bind(int column) => _epilogue.BindChunk(column);

        public void Take(ArrayView<Float4> staging, int at, int row)
        {
            ChunkInputs i0 = _epilogue.LoadChunk(row), i1 = _epilogue.LoadChunk(row + 4);
            ChunkInputs i2 = _epilogue.LoadChunk(row + 8), i3 = _epilogue.LoadChunk(row + 12);
            _epilogue.StoreChunk(row, Row8.Load(staging, at), i0);
            _epilogue.StoreChunk(row + 4, Row8.Load(staging, at + FourRows), i1);
            _epilogue.StoreChunk(row + 8, Row8.Load(staging, at + 2 * FourRows), i2);
            _epilogue.StoreChunk(row + 12, Row8.Load(staging, at + 3 * FourRows), i3);
        }
    }

    /// <summary>Eight values and their gates of a row and of the row 8 below, to a GEGLU epilogue whose columns are bound.</summary>
    private struct GatedChunks<TE>(TE epilogue) : IStagedChunks where TE : struct, IGatedEpilogue
    {
        private const int Gates = 32 / 4, EightRows = 8 * TensorCoreLayout.StagingPitch / 4;   // in quads

        private TE _epilogue = epilogue;   // bound per column half (BindChunk keeps the column)

        public void Bind(int column) => _epilogue.BindGatedChunk(column);

        public void Take(ArrayView<Float4> staging, int at, int row)
        {
            _epilogue.StoreGatedChunk(row, Row8.Load(staging, at), Row8.Load(staging, at + Gates));
            _epilogue.StoreGatedChunk(row + 8, Row8.Load(staging, at + EightRows), Row8.Load(staging, at + EightRows + Gates));
        }
    }

    /// <summary>
    /// How one operand reaches the shared stages: copied straight into a stage ahead (cp.async, see
    /// <see cref="IHalfTileOperand.CopiesDirectly"/>), or loaded into registers a stage ahead and stored when its stage
    /// comes (a gather, or unaligned rows). Either way the loads of later stages overlap the mma of this one.
    /// </summary>
    private struct StageLoader<T> where T : struct, IHalfTileOperand
    {
        private readonly ChunkSlots _slots;
        private readonly CopySources _sources;
        private ChunkQuad _next;

        /// <param name="mn0">The tile's first row of the operand.</param>
        public StageLoader(ref T op, ChunkSlots slots, int mn0)
        {
            _slots = slots;
            _sources = op.CopiesDirectly ? op.Sources(mn0 + slots.Mn) : default;
        }

        /// <summary>Operands copied directly: starts this thread's four chunks of the tile's stage from <paramref name="k0"/> towards the stage at byte <paramref name="stageBytes"/>.</summary>
        public void Copy(ref T op, int k0, ArrayView<Half8> shared, int stageBytes)
        {
            if (op.CopiesDirectly) op.CopyQuad(_sources, k0 + _slots.K, shared, (stageBytes >> 4) + _slots.First, _slots.Step);
        }

        /// <summary>Other operands: loads this thread's four chunks of the tile [mn0, mn0 + 128) × [k0, k0 + 32) into registers.</summary>
        public void Load(ref T op, int mn0, int k0)
        {
            if (!op.CopiesDirectly) _next = op.Chunks(mn0 + _slots.Mn, k0 + _slots.K);
        }

        /// <summary>Stores the chunks loaded into registers in the stage at byte <paramref name="stageBytes"/> (copied chunks are on their way).</summary>
        public readonly void Place(ref T op, ArrayView<Half8> shared, int stageBytes)
        {
            if (!op.CopiesDirectly) _next.Store(shared, (stageBytes >> 4) + _slots.First, _slots.Step);
        }
    }

    /// <summary>
    /// Where this thread's four chunks of an operand tile come from and go to, fixed for the whole reduction: along k,
    /// rows r + 32·i of one chunk (<see cref="TensorCoreLayout.AlongKRow"/>); along mn, one row per thread (row t, its 4 chunks).
    /// First is a 16-byte slot of stage 0's tile (<see cref="TensorCoreLayout.Slot"/>), the others <see cref="Step"/> slots apart.
    /// </summary>
    private readonly struct ChunkSlots(int mn, int k, int first, int step)
    {
        public readonly int Mn = mn, K = k, First = first, Step = step;

        /// <param name="tileChunks">The tile's first 16-byte slot in a stage.</param>
        public static ChunkSlots Of(bool kContiguous, int tileChunks)
        {
            // The layout is linear in the row and the chunk: the steps, taken at row 0, are constants of the kernel
            // (folded into the shared store's address), not registers.
            int t = Group.IdxX;
            if (kContiguous)
            {
                int row = TensorCoreLayout.AlongKRow(t), chunk = TensorCoreLayout.AlongKChunk(t);
                return Kept(row, chunk << 3, tileChunks + TensorCoreLayout.Slot(row, chunk), TensorCoreLayout.Slot(ChunkQuad.RowStride, 0) - TensorCoreLayout.Slot(0, 0));
            }
            return Kept(t, 0, tileChunks + TensorCoreLayout.Slot(t, 0), TensorCoreLayout.Slot(0, 1) - TensorCoreLayout.Slot(0, 0));
        }

        private static ChunkSlots Kept(int mn, int k, int first, int step) =>
            new(LoopInvariant.Keep(mn), LoopInvariant.Keep(k), LoopInvariant.Keep(first), step);
    }
}
