namespace Diffuser.Kernels.Attention;

/// <summary>
/// Where everything of the tensor-core attention (<see cref="FlashAttentionKernels"/>) lives, as plain functions that
/// the kernel, its emulation, the PTX generator and the tests share (device and host code).
/// <para>
/// A group of 4 warps owns <see cref="Rows"/> query rows of one (batch, head), 16 per warp, and walks the keys in blocks
/// of <see cref="Keys"/>. The head dim is zero-padded to a width (a multiple of 16, one of <see cref="Widths"/>); tiles
/// sit in dynamic shared memory row-major, [row][width], each row padded to <see cref="Pitch"/> halves (an odd multiple
/// of 16 bytes, so the 8 row addresses of one ldmatrix fall into 8 different bank groups). A stage holds a key block's
/// K tile (from its byte 0) and V tile (from <see cref="TileBytes"/>); with <see cref="Stages"/> 2 the next block's
/// tiles are copied into one stage while the warps read the other. Q is staged in the last stage's K place before the
/// first block and read into registers once. At the end every warp stages its 16 output rows as fp32,
/// <see cref="StagingPitch"/> floats a row, over stage 0.
/// Fragments follow mma.m16n8k16: lane l holds rows l/4 and l/4 + 8 of its warp, columns 2·(l%4) and + 1 of each n8 tile.
/// </para>
/// </summary>
public static class FlashAttentionLayout
{
    public const int Rows = 64;
    public const int Keys = 64;
    public const int Threads = 128;

    /// <summary>The padded head widths with a PTX variant: SD's head dims 40, 64, 80 and 160 (and all others they cover).</summary>
    public static readonly int[] Widths = [48, 64, 80, 160];

    /// <summary>The head dim padded to a multiple of 16.</summary>
    public static int Padded(int headDim) => (headDim + 15) / 16 * 16;

    /// <summary>Whether a head dim has a tensor-core variant.</summary>
    public static bool Supports(int headDim) => headDim > 0 && Array.IndexOf(Widths, Padded(headDim)) >= 0;

    /// <summary>Halves per shared tile row.</summary>
    public static int Pitch(int width) => width + 8;

    /// <summary>Bytes of one tile (64 rows; Q, K and V tiles alike).</summary>
    public static int TileBytes(int width) => Rows * Pitch(width) * 2;

    /// <summary>Floats per staged output row.</summary>
    public static int StagingPitch(int width) => width + 8;

    /// <summary>Bytes of one stage: a K and a V tile (the fp32 output staging, 64 rows, needs the same).</summary>
    public static int StageBytes(int width) => 2 * TileBytes(width);

    /// <summary>
    /// Stages of K and V tiles: 2 where they fit the 48 KB a kernel gets without opting in (widths 48, 64 and 80), so
    /// that a key block's copies overlap the previous block's math; width 160 has one (two would take 84 KB).
    /// </summary>
    public static int Stages(int width) => 2 * StageBytes(width) <= 48 * 1024 ? 2 : 1;

    /// <summary>Byte offset of stage <paramref name="stage"/>.</summary>
    public static int StageOffset(int width, int stage) => stage * StageBytes(width);

    /// <summary>Byte offset of the Q tile: the last stage's K place, so that the first block's copies into stage 0 can start with Q's.</summary>
    public static int QueryOffset(int width) => StageOffset(width, Stages(width) - 1);

    /// <summary>Dynamic shared memory of a group, in bytes: its stages.</summary>
    public static int SharedBytes(int width) => Stages(width) * StageBytes(width);

    /// <summary>
    /// Byte offset (within the Q tile) of the row the lane hands to ldmatrix.x4 for Q's k16 step 0: matrix m = lane/8
    /// is (rows + 8·(m%2), columns + 8·(m/2)), the order of mma's A registers.
    /// </summary>
    public static int QueryLaneOffset(int width, int warp, int lane)
    {
        int matrix = lane / 8, row = 16 * warp + matrix % 2 * 8 + lane % 8;
        return (row * Pitch(width) + matrix / 2 * 8) * 2;
    }

    /// <summary>
    /// Byte offset (within a stage) of the K row the lane hands to ldmatrix.x4 for key tiles 0 and 1, k16 step 0: matrix m is (keys
    /// + 8·(m/2), columns + 8·(m%2)), giving b0, b1 of key tile 0, then of key tile 1.
    /// </summary>
    public static int KeyLaneOffset(int width, int lane)
    {
        int matrix = lane / 8, key = matrix / 2 * 8 + lane % 8;
        return (key * Pitch(width) + matrix % 2 * 8) * 2;
    }

    /// <summary>
    /// Byte offset (within a stage) of the V row the lane hands to ldmatrix.x4.trans for key k16 step 0, head-dim tiles 0 and 1: matrix m
    /// is (keys + 8·(m%2), columns + 8·(m/2)); transposed, each is a B fragment register [key][column].
    /// </summary>
    public static int ValueLaneOffset(int width, int lane)
    {
        int matrix = lane / 8, key = matrix % 2 * 8 + lane % 8;
        return TileBytes(width) + (key * Pitch(width) + matrix / 2 * 8) * 2;
    }

    /// <summary>Byte offset of the lane's first staged pair (its warp's row lane/4, column 2·(lane%4)).</summary>
    public static int StagingLaneOffset(int width, int warp, int lane) => ((16 * warp + lane / 4) * StagingPitch(width) + 2 * (lane % 4)) * 4;
}
