namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The shared layout of the warp-group tensor cores (Hopper's wgmma, sm_90a; device and host code): the same 128×128
/// tiles, 32-deep stages and 128 threads as <see cref="TensorCoreLayout"/>, whose group is one warp group. wgmma reads
/// both operands from shared memory through a descriptor of "core matrices" (8 rows × 16 bytes, 128 contiguous bytes)
/// in its no-swizzle K-major form: an operand tile is 16 blocks of 8 rows, each block its 4 core matrices along k one
/// after the other (512 bytes), so row mn's chunk c (k = 8c … 8c + 7) is 16-byte slot 32·(mn/8) + 8·c + mn%8: the
/// descriptor's leading byte offset (between core matrices along k) is 128, its stride byte offset (between 8-row blocks)
/// 512. No padding: a stage is 16 KB instead of 20, and three stages fit the 48 KB a kernel gets without opting in.
/// <para>
/// Each wgmma.m64n128k16 multiplies 64 rows of A (one half of the tile) by all 128 columns of B; warp w of the group
/// holds rows 16·w … 16·w + 15 of each half, its accumulators in mma.m16n8k16's C layout per n8 tile. So the warp's
/// four staged m16 tiles are (half, column half) = (i/2, i%2), with the columns of a column half as
/// <see cref="TensorCoreLayout.NTileColumn"/> has them (GEGLU's values and gates stay in one thread).
/// </para>
/// </summary>
public static class WarpGroupLayout
{
    /// <summary>16-byte slots of one operand tile of one stage (128 rows × 4 chunks).</summary>
    public const int TileSlots = TensorCoreLayout.Size * TensorCoreLayout.Depth / 8;
    /// <summary>Bytes of one operand tile of one stage.</summary>
    public const int TileBytes = 16 * TileSlots;
    /// <summary>Bytes of one stage (A tile then B tile).</summary>
    public const int StageBytes = 2 * TileBytes;
    /// <summary>
    /// Stages the main loop cycles through: the one the tensor cores read, the previous one (its wgmma may still run)
    /// and the next (being filled).
    /// </summary>
    public const int Stages = 3;
    /// <summary>wgmma commit groups left running when a stage's last step is issued: that stage's k16 steps.</summary>
    public const int GroupsInFlight = TensorCoreLayout.Depth / 16;
    /// <summary>The descriptor's leading byte offset: core matrices adjacent along k are 128 bytes apart.</summary>
    public const int CoreMatrixBytes = 128;
    /// <summary>The descriptor's stride byte offset: blocks of 8 rows are 512 bytes apart.</summary>
    public const int BlockBytes = 4 * CoreMatrixBytes;
    /// <summary>Byte distance between the two k16 steps of a stage (two core matrices along k).</summary>
    public const int KStepBytes = 2 * CoreMatrixBytes;
    /// <summary>Byte distance between the two 64-row halves of the A tile.</summary>
    public const int HalfBytes = 8 * BlockBytes;

    /// <summary>Slot of row <paramref name="mn"/>'s chunk <paramref name="chunk"/> within an operand tile.</summary>
    public static int Slot(int mn, int chunk) => (mn >> 3) * (BlockBytes / 16) + chunk * (CoreMatrixBytes / 16) + (mn & 7);

    /// <summary>
    /// The row a thread copies along k (and 32, 64, 96 rows on): 8 consecutive threads take 8 consecutive rows of one chunk,
    /// so their 16-byte stores fall into 8 different bank groups (4 threads per row would meet 4-way conflicts here).
    /// </summary>
    public static int AlongKRow(int thread) => (thread & 7) | (thread >> 5 << 3);

    /// <summary>The chunk a thread copies along k.</summary>
    public static int AlongKChunk(int thread) => (thread >> 3) & 3;

    /// <summary>Tile row of the first row of warp <paramref name="warp"/>'s staged m16 tile <paramref name="mTile"/>.</summary>
    public static int TileRow(int warp, int mTile) => 64 * (mTile >> 1) + 16 * warp;

    /// <summary>The column half (as <see cref="TensorCoreLayout.WarpN"/>) of staged m16 tile <paramref name="mTile"/>.</summary>
    public static int ColumnHalf(int mTile) => mTile & 1;

    /// <summary>
    /// The matrix descriptor of the operand tile at shared byte address <paramref name="address"/> (16-byte aligned,
    /// below 256 KB): start address, leading and stride byte offsets in 16-byte units, swizzle mode 0 (none).
    /// </summary>
    public static ulong Descriptor(uint address) =>
        (ulong)((address >> 4) & 0x3FFF) | (ulong)(CoreMatrixBytes >> 4) << 16 | (ulong)(BlockBytes >> 4) << 32;

    /// <summary>
    /// The byte offset, from a descriptor's start address, of element (row, k) of the 64×16 or 128×16 operand it
    /// describes, as the PTX ISA defines the canonical no-swizzle K-major layout: core matrix (row/8, k/8) at
    /// (row/8)·stride + (k/8)·leading bytes, its rows 16 bytes apart.
    /// </summary>
    public static int ElementOffset(ulong descriptor, int row, int k)
    {
        int leading = (int)(descriptor >> 16 & 0x3FFF) << 4, stride = (int)(descriptor >> 32 & 0x3FFF) << 4;
        return (row >> 3) * stride + (k >> 3) * leading + (row & 7) * 16 + (k & 7) * 2;
    }
}
