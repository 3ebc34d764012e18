using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.Elementwise;

/// <summary>Data-movement kernels (device code), generic over the storage: concat, narrow and a shared-memory tiled transpose.</summary>
public static class LayoutKernels
{
    /// <summary>Side of a transpose tile; a group of <see cref="TransposeTile"/>·8 threads moves one tile.</summary>
    public const int TransposeTile = 32;
    public const int TransposeRowsPerPass = 8;

    /// <summary>y [outer, innerA + innerB] = a [outer, innerA] ‖ b [outer, innerB].</summary>
    public static void Concat<T>(T a, T b, T y, int count, int innerA, int innerB) where T : struct, IElementView<T>
    {
        for (var walk = new StrideWalk(KernelLoops.GridStart, KernelLoops.GridStride, innerA + innerB); walk.Index < count; walk.Next())
        {
            int o = walk.Quotient, r = walk.Remainder;
            y.Store(walk.Index, r < innerA ? a.Load(o * innerA + r) : b.Load(o * innerB + r - innerA));
        }
    }

    /// <summary>y [outer, length] = x [outer, sourceInner][:, start : start + length].</summary>
    public static void Narrow<T>(T x, T y, int count, int sourceInner, int start, int length) where T : struct, IElementView<T>
    {
        for (var walk = new StrideWalk(KernelLoops.GridStart, KernelLoops.GridStride, length); walk.Index < count; walk.Next())
            y.Store(walk.Index, x.Load(walk.Quotient * sourceInner + start + walk.Remainder));
    }

    /// <summary>
    /// Grid (column tiles, row tiles, batch): y [b, cols, rows] = x [b, rows, cols]ᵀ through a padded 32×33 shared
    /// tile, so both the reads and the writes are coalesced.
    /// </summary>
    public static void Transpose<T>(T x, T y, int rows, int cols) where T : struct, IElementView<T>
    {
        var tile = SharedMemory.Allocate<float>(TransposeTile * (TransposeTile + 1));
        int tx = Group.IdxX % TransposeTile, ty = Group.IdxX / TransposeTile;
        int r0 = Grid.IdxY * TransposeTile, c0 = Grid.IdxX * TransposeTile;
        int plane = Grid.IdxZ * rows * cols;
        for (int i = ty; i < TransposeTile; i += TransposeRowsPerPass)
            if (r0 + i < rows && c0 + tx < cols) tile[i * (TransposeTile + 1) + tx] = x.Load(plane + (r0 + i) * cols + c0 + tx);
        Group.Barrier();
        for (int i = ty; i < TransposeTile; i += TransposeRowsPerPass)
            if (c0 + i < cols && r0 + tx < rows) y.Store(plane + (c0 + i) * rows + r0 + tx, tile[tx * (TransposeTile + 1) + i]);
    }
}
