using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The block-level tensor-core matmul (device code; the layout is <see cref="TensorCoreLayout"/>): operand chunks of
/// 8 halves go global → registers → shared (two stages: the next stage is fetched into registers while the warps'
/// tensor cores work on the current one), each warp runs two k16 steps per stage, and the result leaves through a
/// per-warp fp32 staging area, one m16 tile at a time, so that each lane hands whole coalesced rows to the epilogue.
/// Every thread of the group must call every method (barriers, warp-synchronous instructions).
/// </summary>
public static class TensorCoreMatmul
{
    /// <summary>Two chunks of one operand held in registers between a global load and the shared store.</summary>
    private struct ChunkPair
    {
        public Half8 First, Second;
    }

    /// <summary>Accumulates the product tile at (row0, col0) over reduction indices [kBegin, kEnd) into <paramref name="mma"/>.</summary>
    public static void Accumulate<TA, TB, TM>(ref TA a, ref TB b, ref TM mma, int kBegin, int kEnd, int row0, int col0, ArrayView<Half8> shared)
        where TA : struct, IHalfTileOperand where TB : struct, IHalfTileOperand where TM : struct, IWarpMma
    {
        var halves = shared.Cast<ushort>();
        mma.Zero();
        var nextA = Load(ref a, row0, kBegin);
        var nextB = Load(ref b, col0, kBegin);
        int stage = 0;
        for (int k0 = kBegin; k0 < kEnd; k0 += TensorCoreLayout.Depth)
        {
            // One barrier per stage: a stage is rewritten two iterations after it was read, past this barrier.
            Store(nextA, a.KContiguous, shared, stage * TensorCoreLayout.StageBytes);
            Store(nextB, b.KContiguous, shared, stage * TensorCoreLayout.StageBytes + TensorCoreLayout.TileBytes);
            Group.Barrier();
            if (k0 + TensorCoreLayout.Depth < kEnd)
            {
                nextA = Load(ref a, row0, k0 + TensorCoreLayout.Depth);
                nextB = Load(ref b, col0, k0 + TensorCoreLayout.Depth);
            }
            mma.Step(halves, stage, 0);
            mma.Step(halves, stage, 1);
            stage ^= 1;
        }
        Group.Barrier();   // the staging area below reuses the stages
    }

    /// <summary>Hands every element of the tile to <paramref name="epilogue"/>: lane l takes staged column l of 16 rows per m16 tile.</summary>
    public static void Store<TM, TE>(ref TM mma, ref TE epilogue, int row0, int col0, ArrayView<Half8> shared)
        where TM : struct, IWarpMma where TE : struct, ITileEpilogue
    {
        var staging = shared.Cast<float>();
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx, area = warp * TensorCoreLayout.StagingFloats;
        int col = col0 + TensorCoreLayout.StagedColumn(TensorCoreLayout.WarpN(warp), lane);
        for (int i = 0; i < 4; i++)
        {
            mma.Stage(staging, i);
            Warp.Barrier();
            int row = row0 + TensorCoreLayout.WarpM(warp) * 64 + 16 * i;
            for (int r = 0; r < 16; r++) epilogue.Store(row + r, col, staging[area + r * TensorCoreLayout.StagingPitch + lane]);
            Warp.Barrier();
        }
    }

    /// <summary>
    /// As <see cref="Store"/> for a GEGLU product tile: staged columns c &lt; 16 are values whose gates are staged
    /// column c + 16 (64 tile columns on); lanes 0–15 take rows 0–7 of a tile, lanes 16–31 rows 8–15.
    /// </summary>
    public static void StoreGated<TM, TE>(ref TM mma, ref TE epilogue, int row0, int col0, ArrayView<Half8> shared)
        where TM : struct, IWarpMma where TE : struct, IGatedEpilogue
    {
        var staging = shared.Cast<float>();
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx, c = lane % 16, half = lane / 16;
        int area = warp * TensorCoreLayout.StagingFloats + c;
        int col = col0 + TensorCoreLayout.StagedColumn(TensorCoreLayout.WarpN(warp), c);
        for (int i = 0; i < 4; i++)
        {
            mma.Stage(staging, i);
            Warp.Barrier();
            int row = row0 + TensorCoreLayout.WarpM(warp) * 64 + 16 * i + 8 * half;
            for (int r = 0; r < 8; r++)
            {
                int at = area + (8 * half + r) * TensorCoreLayout.StagingPitch;
                epilogue.StoreGated(row + r, col, staging[at], staging[at + 16]);
            }
            Warp.Barrier();
        }
    }

    /// <summary>
    /// This thread's two chunks of the operand tile [mn0, mn0 + 128) × [k0, k0 + 32): along k, 4 threads per row (rows
    /// t/4 and t/4 + 64, chunk t%4); along mn, one row per thread (row t%128, chunks t/128 and t/128 + 2).
    /// </summary>
    private static ChunkPair Load<T>(ref T op, int mn0, int k0) where T : struct, IHalfTileOperand
    {
        int t = Group.IdxX;
        if (op.KContiguous)
        {
            int row = mn0 + t / 4, k = k0 + 8 * (t % 4);
            return new ChunkPair { First = op.Chunk(row, k), Second = op.Chunk(row + 64, k) };
        }
        int mn = mn0 + t % TensorCoreLayout.Size, kc = k0 + 8 * (t / TensorCoreLayout.Size);
        return new ChunkPair { First = op.Chunk(mn, kc), Second = op.Chunk(mn, kc + 16) };
    }

    /// <summary>The chunks into the [mn][k] tile at byte <paramref name="tileBase"/>, rows of <see cref="TensorCoreLayout.Pitch"/> halves.</summary>
    private static void Store(in ChunkPair chunks, bool kContiguous, ArrayView<Half8> shared, int tileBase)
    {
        int t = Group.IdxX, rowChunks = TensorCoreLayout.Pitch / 8, first, second;
        if (kContiguous)
        {
            first = t / 4 * rowChunks + t % 4;
            second = first + 64 * rowChunks;
        }
        else
        {
            first = t % TensorCoreLayout.Size * rowChunks + t / TensorCoreLayout.Size;
            second = first + 2;
        }
        shared[tileBase / 16 + first] = chunks.First;
        shared[tileBase / 16 + second] = chunks.Second;
    }
}
