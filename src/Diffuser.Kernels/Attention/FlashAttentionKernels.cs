using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Fused attention on fp16 storage on the tensor cores, FlashAttention-2 style (device code): grid (query blocks of
/// <see cref="FlashAttentionLayout.Rows"/>, heads, batch), <see cref="FlashAttentionLayout.Threads"/> threads,
/// <see cref="FlashAttentionLayout.SharedBytes"/> of dynamic shared memory and no static shared memory (the PTX
/// addresses the dynamic block from its start). Threads copy Q, then each key block's K and V, into shared memory
/// (<see cref="TileCopy"/>: what lies past the sequence never reaches the output, columns past the head dim are 0);
/// the warps compute scores, softmax and P·V in registers (<typeparamref name="TA"/>: a <c>PtxWarpAttention</c>
/// variant on the GPU); the output is staged as fp32 and rounded to fp16 once. Non-causal only.
/// q, k and v are read with <see cref="AttentionShape"/>'s row strides and offsets.
/// </summary>
/// <remarks>
/// <c>copy</c> (a <see cref="AttentionTileCopy"/>): with chunks, the head dim, row strides, offsets and the views' starts
/// are multiples of 8 halves (the launcher checks), so tiles are copied 16 bytes a thread (ld.global.v4): the views are
/// reinterpreted whole, so that the compiler can prove the alignment.
/// </remarks>
public static class FlashAttentionKernels
{
    public static void Attention<TA>(F16View q, F16View k, F16View v, F16View o, AttentionShape s, SpecializedValue<int> copy)
        where TA : struct, IWarpAttention
    {
        var attention = default(TA);
        attention.Declare();
        var staging = SharedMemory.GetDynamic<float>();   // requested in floats (LaunchGeometry.Grid)
        var shared = staging.Cast<ushort>();
        int width = attention.Width, batch = Grid.IdxZ, query0 = Grid.IdxX * FlashAttentionLayout.Rows, column = Grid.IdxY * s.HeadDim;
        int values = FlashAttentionLayout.TileBytes(width) / 2;
        var tiles = new TileCopy((AttentionTileCopy)copy.Value, width);

        tiles.Copy(q.Bits, shared, 0, batch * s.QueryLength + query0, s.QueryLength - query0, s.QueryStride, s.QueryOffset + column, s.HeadDim);
        Group.Barrier();
        attention.LoadQuery(shared);
        float scaleLog2 = s.Scale * 1.44269504f;
        for (int key0 = 0; key0 < s.KeyLength; key0 += FlashAttentionLayout.Keys)
        {
            Group.Barrier();   // every warp is done with the previous tiles (or with Q)
            int row0 = batch * s.KeyLength + key0, valid = s.KeyLength - key0;
            tiles.Copy(k.Bits, shared, 0, row0, valid, s.KeyStride, s.KeyOffset + column, s.HeadDim);
            tiles.Copy(v.Bits, shared, values, row0, valid, s.KeyStride, s.ValueOffset + column, s.HeadDim);
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
    /// How this thread copies 64-row tiles into shared memory, the same for every tile. With 16-byte chunks, two threads
    /// per row (the group's 128 threads cover the 64 rows once), each width/16 consecutive chunks of it from half
    /// <c>column</c>: one address per tile, the chunks at offsets the compiler folds into the loads and stores, no loop
    /// and no division. Rows past the valid ones repeat the last valid row instead of reading zeros: a key row's scores
    /// are masked (probability 0, times a real, finite value) and a query row past the end is never stored. Columns
    /// past the head dim are 0 (as the scores need).
    /// </summary>
    private readonly struct TileCopy
    {
        private readonly AttentionTileCopy _kind;
        private readonly int _width, _row, _column;

        public TileCopy(AttentionTileCopy kind, int width)
        {
            int t = Group.IdxX;
            _kind = kind;
            _width = width;
            _row = LoopInvariant.Keep(t >> 1);
            _column = LoopInvariant.Keep((t & 1) * 8 * Chunks);
        }

        /// <summary>16-byte chunks per thread and tile: 3, 4, 5 or 10 (a constant of each variant).</summary>
        private int Chunks => _width / 16;

        /// <summary>
        /// 64 rows of <paramref name="dim"/> halves (row r at (row0 + r)·stride + offset) into a shared tile at half
        /// <paramref name="tile"/>, [row][width] with the layout's pitch (<paramref name="valid"/> ≥ 1 rows are real).
        /// </summary>
        public void Copy(ArrayView<ushort> source, ArrayView<ushort> shared, int tile, int row0, int valid, int stride, int offset, int dim)
        {
            int pitch = FlashAttentionLayout.Pitch(_width);
            if (_kind == AttentionTileCopy.Elements)
            {
                for (int e = Group.IdxX; e < FlashAttentionLayout.Rows * _width; e += FlashAttentionLayout.Threads)
                {
                    int r = SmallDivision.Quotient(e, _width), d = e - r * _width;   // the width is a constant of each variant
                    shared[tile + r * pitch + d] = r < valid && d < dim ? source[(row0 + r) * stride + offset + d] : (ushort)0;
                }
                return;
            }
            int row = XMath.Min(_row, valid - 1);
            var chunks = new ChunkRow(
                source.Cast<Half8>().SubView((long)(((row0 + row) * stride + offset + _column) >> 3)),   // 64-bit: the offsets fold
                shared.Cast<Half8>().SubView((tile + _row * pitch + _column) >> 3),
                _kind == AttentionTileCopy.FullWidthChunks ? Chunks : (dim - _column + 7) >> 3);
            // Written out (ILGPU keeps even constant-count loops as loops).
            chunks.CopyFive(0, Chunks);
            if (Chunks > 5) chunks.CopyFive(5, Chunks - 5);
        }
    }

    /// <summary>The 16-byte chunks of one row a thread copies: those from <c>present</c> on (past the head dim) are 0.</summary>
    private readonly record struct ChunkRow(ArrayView<Half8> Source, ArrayView<Half8> Target, int Present)
    {
        /// <summary>Chunks first … first + count − 1, count ≤ 5 (a constant: the unused copies fold away).</summary>
        public void CopyFive(int first, int count)
        {
            Copy(first);
            if (count > 1) Copy(first + 1);
            if (count > 2) Copy(first + 2);
            if (count > 3) Copy(first + 3);
            if (count > 4) Copy(first + 4);
        }

        private void Copy(int j) => Target[j] = j < Present ? Source[j] : default;
    }
}

/// <summary>How the tensor-core attention copies its tiles (a specialised value of the kernel).</summary>
public enum AttentionTileCopy
{
    /// <summary>One half per thread and step: any head dim, strides and offsets.</summary>
    Elements = 0,
    /// <summary>16-byte chunks (everything a multiple of 8 halves), the head dim zero-padded to the width.</summary>
    Chunks = 1,
    /// <summary>16-byte chunks, the head dim equal to the width (SD's 64, 80 and 160): no column test.</summary>
    FullWidthChunks = 2,
}
