namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The warp-group tensor cores (Hopper's wgmma, sm_90a; device and host code): the same 128×128 tiles, 32-deep stages,
/// 128 threads and shared layout as <see cref="TensorCoreLayout"/>, whose group is one warp group. wgmma reads both
/// operands from shared memory through a descriptor of that layout's core matrices in its no-swizzle K-major form: the
/// descriptor's leading byte offset (between core matrices along k) is <see cref="TensorCoreLayout.CoreMatrixBytes"/>,
/// its stride byte offset (between 8-row blocks) <see cref="TensorCoreLayout.BlockBytes"/>.
/// <para>
/// Each wgmma.m64n128k16 multiplies 64 rows of A (one half of the tile) by all 128 columns of B; warp w of the group
/// holds rows 16·w … 16·w + 15 of each half, its accumulators in mma.m16n8k16's C layout per n8 tile. So the warp's
/// four staged m16 tiles are (half, column half) = (i/2, i%2), with the columns of a column half as
/// <see cref="TensorCoreLayout.NTileColumn"/> has them (GEGLU's values and gates stay in one thread).
/// </para>
/// </summary>
public static class WarpGroupLayout
{
    /// <summary>wgmma commit groups left running when a stage's last step is issued: that stage's k16 steps.</summary>
    public const int GroupsInFlight = TensorCoreLayout.Depth / 16;
    /// <summary>Byte distance between the two 64-row halves of the A tile.</summary>
    public const int HalfBytes = 8 * TensorCoreLayout.BlockBytes;

    /// <summary>Tile row of the first row of warp <paramref name="warp"/>'s staged m16 tile <paramref name="mTile"/>.</summary>
    public static int TileRow(int warp, int mTile) => 64 * (mTile >> 1) + 16 * warp;

    /// <summary>The column half (as <see cref="TensorCoreLayout.WarpN"/>) of staged m16 tile <paramref name="mTile"/>.</summary>
    public static int ColumnHalf(int mTile) => mTile & 1;

    /// <summary>
    /// The matrix descriptor of the operand tile at shared byte address <paramref name="address"/> (16-byte aligned,
    /// below 256 KB): start address, leading and stride byte offsets in 16-byte units, swizzle mode 0 (none).
    /// </summary>
    public static ulong Descriptor(uint address) =>
        (ulong)((address >> 4) & 0x3FFF) | (ulong)(TensorCoreLayout.CoreMatrixBytes >> 4) << 16 | (ulong)(TensorCoreLayout.BlockBytes >> 4) << 32;

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
