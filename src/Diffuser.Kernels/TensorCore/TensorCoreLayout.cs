namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// Where everything of the tensor-core matmul lives, as plain functions that the kernel, its CPU emulation and the
/// tests share (device and host code).
/// <para>
/// A group of 128 threads (4 warps, 2 along M × 2 along N) computes a 128×128 tile of C from k-stages of 32. Both
/// operand tiles sit in dynamic shared memory as "core matrices" of 8 rows × 8 halves along k (128 contiguous bytes):
/// an operand tile is 16 blocks of 8 rows, each block its 4 core matrices along k one after the other (512 bytes), so
/// row mn's chunk c (k = 8c … 8c + 7) is 16-byte slot 32·(mn/8) + 8·c + mn%8. Each 8-lane phase of an ldmatrix reads
/// one core matrix and 8 threads storing one chunk of 8 rows write one, 128 contiguous bytes: every bank once, with no
/// padding. It is also the layout Hopper's wgmma reads through its descriptors (<see cref="WarpGroupLayout"/>). A stage
/// is 16 KB; <see cref="Stages"/> of them make the 48 KB a kernel gets without opting in (the epilogue's staging, 18
/// KB, reuses them). A warp owns 64 rows (4 m16 tiles) and 64 columns (8 n8 tiles): columns 32·wn + [0, 32) and 64 +
/// 32·wn + [0, 32), so a GEGLU product tile (64 values, then their 64 gates) keeps each value and its gate in one
/// thread. 64×64 per warp (not 64×32 from 8 warps) because ldmatrix traffic bounds these kernels before the tensor
/// cores do: a k16 step reads 4 KB of fragments for 32 mma (128 bytes each, against 192 for 64×32), and an SM's shared
/// memory delivers 128 bytes a cycle while Hopper's mma.sync wants an m16n8k16 every ~1.5 cycles.
/// Accumulators follow mma.m16n8k16's C layout: lane l holds rows l/4 and l/4 + 8, columns 2·(l%4) and + 1.
/// </para>
/// </summary>
public static class TensorCoreLayout
{
    public const int Size = 128;
    public const int Depth = 32;
    public const int Threads = 128;

    /// <summary>
    /// The warp of thread <paramref name="thread"/> of the (one-dimensional) group, as a shift: ILGPU's
    /// <see cref="ILGPU.Warp.WarpIdx"/> divides, which ptxas expands into ~20 instructions wherever it is used (here, a
    /// stream-K group's piece loop).
    /// </summary>
    public static int WarpOf(int thread) => thread >> 5;

    /// <summary>n8 tiles per warp (64 columns).</summary>
    public const int NTiles = 8;
    /// <summary>16-byte slots of one operand tile of one stage (128 rows × 4 chunks).</summary>
    public const int TileSlots = Size * Depth / 8;
    /// <summary>Bytes of one operand tile of one stage.</summary>
    public const int TileBytes = 16 * TileSlots;
    /// <summary>Bytes of one stage (A tile then B tile).</summary>
    public const int StageBytes = 2 * TileBytes;
    /// <summary>
    /// Shared stages the main loop cycles through: one the tensor cores read while the others are filled (see
    /// <see cref="IWarpMma.StagesAhead"/>).
    /// </summary>
    public const int Stages = 3;
    /// <summary>Dynamic shared memory of a group, in bytes: its stages (the epilogue's staging reuses them).</summary>
    public const int SharedBytes = Stages * StageBytes;
    /// <summary>Bytes of one core matrix (8 rows × 16 bytes); core matrices adjacent along k are this far apart.</summary>
    public const int CoreMatrixBytes = 128;
    /// <summary>Bytes between blocks of 8 rows (their 4 core matrices along k).</summary>
    public const int BlockBytes = 4 * CoreMatrixBytes;
    /// <summary>
    /// Floats per staging row of the epilogue (64 columns + 8 of padding: conflict-free 8-byte stores of the fragments;
    /// the 16-byte reads of 8-column chunks then meet 2-way bank conflicts, no pitch avoids both).
    /// </summary>
    public const int StagingPitch = 72;
    /// <summary>Floats of one warp's staging area: one m16 tile, 16 rows.</summary>
    public const int StagingFloats = 16 * StagingPitch;

    /// <summary>Byte distance between the operand addresses of the two k16 steps of a stage (two core matrices along k).</summary>
    public const int KStepBytes = 2 * CoreMatrixBytes;
    /// <summary>Byte distance between the ldmatrix addresses of consecutive m16 tiles (16 rows).</summary>
    public const int MTileBytes = 2 * BlockBytes;
    /// <summary>Byte distance between a warp's B column pairs 0 and 1, and 2 and 3 (16 columns).</summary>
    public const int PairBytes = 2 * BlockBytes;
    /// <summary>Byte distance from a warp's first B column pair to its third (64 columns on).</summary>
    public const int ThirdPairBytes = 8 * BlockBytes;
    /// <summary>Byte distance between the staging rows g and g + 8.</summary>
    public const int StagingHalfBytes = 8 * StagingPitch * 4;

    public static int WarpM(int warp) => warp >> 1;

    public static int WarpN(int warp) => warp & 1;

    /// <summary>16-byte slot, within an operand tile, of row <paramref name="mn"/>'s chunk <paramref name="chunk"/> (k = 8·chunk … + 7).</summary>
    public static int Slot(int mn, int chunk) => (mn >> 3) * (BlockBytes / 16) + chunk * (CoreMatrixBytes / 16) + (mn & 7);

    /// <summary>
    /// The row a thread copies of an operand loaded along k (and 32, 64, 96 rows on): 8 consecutive threads take 8
    /// consecutive rows of one chunk, one core matrix, so their 16-byte stores meet every bank once; a warp takes 8 whole
    /// rows (64 bytes each) of global memory.
    /// </summary>
    public static int AlongKRow(int thread) => (thread & 7) | (thread >> 5 << 3);

    /// <summary>The chunk a thread copies of an operand loaded along k.</summary>
    public static int AlongKChunk(int thread) => (thread >> 3) & 3;

    /// <summary>Tile row of the first row of warp <paramref name="warp"/>'s m16 tile <paramref name="mTile"/>.</summary>
    public static int TileRow(int warp, int mTile) => 64 * WarpM(warp) + 16 * mTile;

    /// <summary>
    /// Byte offset, within a stage's A tile, of the row that <paramref name="lane"/> hands to ldmatrix.x4 for m16 tile 0
    /// of k-step <paramref name="kStep"/> (0 or 1): lanes 8m..8m+7 address matrix m = (rows +8·(m%2), k +8·(m/2)).
    /// </summary>
    public static int ALaneOffset(int lane, int warpM, int kStep)
    {
        int matrix = lane / 8, row = warpM * 64 + matrix % 2 * 8 + lane % 8;
        return 16 * Slot(row, 2 * kStep + matrix / 2);
    }

    /// <summary>
    /// Byte offset, within a stage's B tile ([n][k]), of the row that <paramref name="lane"/> hands to ldmatrix.x4 for
    /// the warp's first n8 pair: matrix m = (columns +8·(m/2), k +8·(m%2)), giving b0, b1 of n-tile 0 then of n-tile 1.
    /// </summary>
    public static int BLaneOffset(int lane, int warpN, int kStep)
    {
        int matrix = lane / 8, n = 32 * warpN + matrix / 2 * 8 + lane % 8;
        return 16 * Slot(n, 2 * kStep + matrix % 2);
    }

    /// <summary>The lane's A operand for one k16 step of <paramref name="stage"/>: a byte offset from the shared base.</summary>
    public static int AStepAddress(int warp, int lane, int stage, int kStep) => stage * StageBytes + ALaneOffset(lane, WarpM(warp), kStep);

    /// <summary>The lane's B operand for one k16 step of <paramref name="stage"/>: a byte offset from the shared base.</summary>
    public static int BStepAddress(int warp, int lane, int stage, int kStep) => stage * StageBytes + TileBytes + BLaneOffset(lane, WarpN(warp), kStep);

    /// <summary>Tile column of the first column of the warp's n8 tile <paramref name="j"/> (0..7).</summary>
    public static int NTileColumn(int warpN, int j) => (j < NTiles / 2 ? 0 : 64 - 32) + 32 * warpN + 8 * j;

    /// <summary>Row, within an m16 tile, of accumulator element <paramref name="e"/> (0..3) of <paramref name="lane"/>.</summary>
    public static int AccumulatorRow(int lane, int e) => lane / 4 + 8 * (e / 2);

    /// <summary>Column, within an n8 tile, of accumulator element <paramref name="e"/> of <paramref name="lane"/>.</summary>
    public static int AccumulatorColumn(int lane, int e) => 2 * (lane % 4) + e % 2;

    /// <summary>Byte offset of the lane's first staged pair (row lane/4, column 2·(lane%4)) in the group's staging.</summary>
    public static int StagingLaneOffset(int warp, int lane) => (warp * StagingFloats + lane / 4 * StagingPitch + 2 * (lane % 4)) * 4;

    /// <summary>Tile column of staged column <paramref name="c"/> (0..63) of a warp (shifts, not divisions: it is found in a stream-K group's piece loop).</summary>
    public static int StagedColumn(int warpN, int c) => NTileColumn(warpN, c >> 3) + (c & 7);
}
