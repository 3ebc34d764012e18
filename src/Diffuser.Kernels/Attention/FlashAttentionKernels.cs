using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Fused attention on fp16 storage on the tensor cores, FlashAttention-2 style (device code): grid (query blocks of
/// <see cref="FlashAttentionLayout.Rows"/>, heads, batch), <see cref="FlashAttentionLayout.Threads"/> threads,
/// <see cref="FlashAttentionLayout.SharedBytes"/> of dynamic shared memory and no static shared memory (the PTX
/// addresses the dynamic block from its start). Threads copy Q, then each key block's K and V, into shared memory
/// (zero beyond the sequence and the head dim: a V row past the keys must be 0, as its probability is, never 0·NaN);
/// the warps compute scores, softmax and P·V in registers (<typeparamref name="TA"/>: a <c>PtxWarpAttention</c>
/// variant on the GPU); the output is staged as fp32 and rounded to fp16 once. Non-causal only.
/// q, k and v are read with <see cref="AttentionShape"/>'s row strides and offsets.
/// </summary>
/// <remarks>
/// <c>vector</c> = 1: the head dim, row strides, offsets and the views' starts are multiples of 8 halves (the launcher
/// checks), so tiles are copied 16 bytes a thread (ld.global.v4): the views are reinterpreted whole and indexed, never
/// sub-viewed first, so that the compiler can prove the alignment.
/// </remarks>
public static class FlashAttentionKernels
{
    public static void Attention<TA>(F16View q, F16View k, F16View v, F16View o, AttentionShape s, SpecializedValue<int> vector)
        where TA : struct, IWarpAttention
    {
        var attention = default(TA);
        attention.Declare();
        var staging = SharedMemory.GetDynamic<float>();   // requested in floats (LaunchGeometry.Grid)
        var shared = staging.Cast<ushort>();
        int width = attention.Width, batch = Grid.IdxZ, query0 = Grid.IdxX * FlashAttentionLayout.Rows, column = Grid.IdxY * s.HeadDim;
        int values = FlashAttentionLayout.TileBytes(width) / 2;
        bool vectors = vector.Value != 0;
        var copy = TileCopy.OfThisThread(width);

        CopyTile(copy, q.Bits, shared, 0, batch * s.QueryLength + query0, s.QueryLength - query0, s.QueryStride, s.QueryOffset + column, s.HeadDim, width, vectors);
        Group.Barrier();
        attention.LoadQuery(shared);
        float scaleLog2 = s.Scale * 1.44269504f;
        for (int key0 = 0; key0 < s.KeyLength; key0 += FlashAttentionLayout.Keys)
        {
            Group.Barrier();   // every warp is done with the previous tiles (or with Q)
            int row0 = batch * s.KeyLength + key0, valid = s.KeyLength - key0;
            CopyTile(copy, k.Bits, shared, 0, row0, valid, s.KeyStride, s.KeyOffset + column, s.HeadDim, width, vectors);
            CopyTile(copy, v.Bits, shared, values, row0, valid, s.KeyStride, s.ValueOffset + column, s.HeadDim, width, vectors);
            Group.Barrier();
            attention.Scores(shared);
            if (valid < FlashAttentionLayout.Keys) attention.Mask(valid);
            attention.Softmax(scaleLog2);
            attention.Accumulate(shared);
        }
        Group.Barrier();
        attention.Finish(staging);
        Group.Barrier();

        int pitch = FlashAttentionLayout.StagingPitch(width);
        for (int e = Group.IdxX; e < FlashAttentionLayout.Rows * s.HeadDim; e += FlashAttentionLayout.Threads)
        {
            int r = e / s.HeadDim, d = e - r * s.HeadDim;
            if (query0 + r < s.QueryLength) o.Store((batch * s.QueryLength + query0 + r) * s.Width + column + d, staging[r * pitch + d]);
        }
    }

    /// <summary>
    /// 64 rows of <paramref name="dim"/> halves (row r at (row0 + r)·stride + offset) into a shared tile at half
    /// <paramref name="tile"/>, [row][width] with the layout's pitch; rows from <paramref name="valid"/> on and columns
    /// from <paramref name="dim"/> to the width are 0.
    /// </summary>
    private static void CopyTile(TileCopy copy, ArrayView<ushort> source, ArrayView<ushort> shared, int tile, int row0, int valid, int stride, int offset,
        int dim, int width, bool vector)
    {
        int pitch = FlashAttentionLayout.Pitch(width);
        if (vector)
        {
            var chunks = source.Cast<Half8>();
            var target = shared.Cast<Half8>();
            int d = copy.Column;
            if (copy.Row < copy.RowsPerPass)
                for (int r = copy.Row; r < FlashAttentionLayout.Rows; r += copy.RowsPerPass)
                    target[(tile + r * pitch + d) >> 3] = r < valid && d < dim ? chunks[((row0 + r) * stride + offset + d) >> 3] : default;
            return;
        }
        for (int e = Group.IdxX; e < FlashAttentionLayout.Rows * width; e += FlashAttentionLayout.Threads)
        {
            int r = SmallDivision.Quotient(e, width), d = e - r * width;   // the width is a constant of each variant
            shared[tile + r * pitch + d] = r < valid && d < dim ? source[(row0 + r) * stride + offset + d] : (ushort)0;
        }
    }

    /// <summary>
    /// This thread's share of a 16-byte tile copy, the same for every tile: chunk <see cref="Column"/> (in halves) of
    /// rows <see cref="Row"/>, Row + <see cref="RowsPerPass"/>, … (threads from RowsPerPass whole rows on stay idle).
    /// Found once, so that a pass costs a few multiply-adds and no division (ptxas makes ~20 instructions of one).
    /// </summary>
    private readonly record struct TileCopy(int Row, int Column, int RowsPerPass)
    {
        public static TileCopy OfThisThread(int width)
        {
            int perRow = width >> 3, t = Group.IdxX, row = t / perRow;
            return new TileCopy(LoopInvariant.Keep(row), LoopInvariant.Keep((t - row * perRow) << 3), FlashAttentionLayout.Threads / perRow);
        }
    }
}
