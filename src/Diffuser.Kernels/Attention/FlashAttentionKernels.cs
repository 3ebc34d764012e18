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
/// (<see cref="TileCopy{TC}"/>: what lies past the sequence never reaches the output, columns past the head dim are 0);
/// the warps compute scores, softmax and P·V in registers (<c>TA</c>: a <c>PtxWarpAttention</c>
/// variant on the GPU); the output is staged as fp32 and rounded to fp16 once. Non-causal only.
/// q, k and v are read with <see cref="AttentionShape"/>'s row strides and offsets.
/// </summary>
/// <remarks>
/// <c>copy</c> (a <see cref="AttentionTileCopy"/>): with chunks, the head dim, row strides, offsets and the views' starts
/// are multiples of 8 halves (the launcher checks), so tiles are copied 16 bytes a thread (ld.global.v4): the views are
/// reinterpreted whole, so that the compiler can prove the alignment. Then, with <c>TC</c>'s cp.async
/// on the GPU, K and V go straight to shared memory (<c>addresses</c>: their global addresses), and with
/// two stages (<see cref="FlashAttentionLayout.Stages"/>) a block's copies are started before the previous block's
/// math, which they overlap; one barrier a block then says both that a block's tiles are in and that every warp is
/// done with the stage the next copies overwrite.
/// </remarks>
public static class FlashAttentionKernels
{
    public static void Attention<TA, TC>(F16View q, F16View k, F16View v, F16View o, AttentionShape s, KeyValueAddresses addresses,
        SpecializedValue<int> copy)
        where TA : struct, IWarpAttention where TC : struct, IOperandCopies
    {
        var attention = default(TA);
        attention.Declare();
        var staging = SharedMemory.GetDynamic<float>();   // requested in floats (LaunchGeometry.Grid)
        var shared = staging.Cast<ushort>();
        int width = attention.Width, batch = Grid.IdxZ, query0 = Grid.IdxX * FlashAttentionLayout.Rows, column = Grid.IdxY * s.HeadDim;
        int stages = FlashAttentionLayout.Stages(width), queryTile = FlashAttentionLayout.QueryOffset(width);
        var kind = (AttentionTileCopy)copy.Value;
        var tiles = new TileCopy<TC>(kind, width, s.HeadDim);
        var blocks = new KeyValueBlocks(k.Bits, v.Bits, addresses, s, batch * s.KeyLength, column, tiles.Row, tiles.Column);

        KeyValueBlocks.ClearAbsent(tiles, shared, FlashAttentionLayout.StageOffset(width, 0));
        if (stages == 2) KeyValueBlocks.ClearAbsent(tiles, shared, FlashAttentionLayout.StageOffset(width, 1));
        tiles.Copy(q.Bits, shared, queryTile, batch * s.QueryLength + query0, s.QueryLength - query0, s.QueryStride, s.QueryOffset + column);
        if (stages == 2) blocks.Copy(tiles, shared, FlashAttentionLayout.StageOffset(width, 0), 0);
        Group.Barrier();
        attention.LoadQuery(shared, queryTile);
        float scaleLog2 = s.Scale * 1.44269504f;
        for (int key0 = 0, block = 0; key0 < s.KeyLength; key0 += FlashAttentionLayout.Keys, block++)
        {
            int stage = FlashAttentionLayout.StageOffset(width, block & (stages - 1));
            if (stages == 1)
            {
                Group.Barrier();   // every warp is done with the previous tiles (or with Q)
                blocks.Copy(tiles, shared, stage, key0);
            }
            tiles.Wait();
            // This block's tiles are in; with two stages every warp is also done with the other one (the previous block's, or Q).
            Group.Barrier();
            if (stages == 2 && key0 + FlashAttentionLayout.Keys < s.KeyLength)
                blocks.Copy(tiles, shared, FlashAttentionLayout.StageOffset(width, (block + 1) & 1), key0 + FlashAttentionLayout.Keys);
            attention.Scores(shared, stage);
            int valid = s.KeyLength - key0;
            if (valid < FlashAttentionLayout.Keys) attention.Mask(valid);
            attention.Softmax(scaleLog2);
            attention.Accumulate(shared, stage);
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
    /// The key blocks of a (batch, head): key row r of the batch at (first + r)·stride, the head's K and V columns from
    /// their offsets. By cp.async, this thread's row addresses in block 0 are found once and a block adds its 64-bit
    /// row offset; a row past the keys copies zeros (its scores are masked) and reads nothing, at block 0's address
    /// (its row there clamped to the keys, so that even that address lies inside).
    /// </summary>
    private readonly struct KeyValueBlocks
    {
        private readonly ArrayView<ushort> _k, _v;
        private readonly AttentionShape _s;
        private readonly int _first, _column;
        private readonly long _key, _value;

        public KeyValueBlocks(ArrayView<ushort> k, ArrayView<ushort> v, KeyValueAddresses addresses, AttentionShape s, int first, int column, int row, int rowColumn)
        {
            _k = k;
            _v = v;
            _s = s;
            _first = first;
            _column = column;
            long address = 2L * ((long)(first + XMath.Min(row, s.KeyLength - 1)) * s.KeyStride + column + rowColumn);
            _key = LoopInvariant.Keep(addresses.Key + address + 2L * s.KeyOffset);
            _value = LoopInvariant.Keep(addresses.Value + address + 2L * s.ValueOffset);
        }

        /// <summary>Zeros the columns past the head dim of the K and V tiles of the stage at byte <paramref name="stage"/> once (cp.async only).</summary>
        public static void ClearAbsent<TC>(TileCopy<TC> tiles, ArrayView<ushort> shared, int stage) where TC : struct, IOperandCopies
        {
            tiles.ClearAbsent(shared, stage);
            tiles.ClearAbsent(shared, stage + FlashAttentionLayout.TileBytes(tiles.Width));
        }

        /// <summary>The K and V tiles of the keys from <paramref name="key0"/> into the stage at byte <paramref name="stage"/>.</summary>
        public void Copy<TC>(TileCopy<TC> tiles, ArrayView<ushort> shared, int stage, int key0) where TC : struct, IOperandCopies
        {
            int values = stage + FlashAttentionLayout.TileBytes(tiles.Width);
            if (tiles.Async)
            {
                bool inside = key0 + tiles.Row < _s.KeyLength;
                long offset = inside ? 2L * key0 * _s.KeyStride : 0;
                tiles.Start(shared, _key + offset, inside, stage);
                tiles.Start(shared, _value + offset, inside, values);
                return;
            }
            int row0 = _first + key0, valid = _s.KeyLength - key0;
            tiles.Copy(_k, shared, stage, row0, valid, _s.KeyStride, _s.KeyOffset + _column);
            tiles.Copy(_v, shared, values, row0, valid, _s.KeyStride, _s.ValueOffset + _column);
        }
    }

    /// <summary>
    /// How this thread copies 64-row tiles into shared memory, the same for every tile. With 16-byte chunks, two threads
    /// per row (the group's 128 threads cover the 64 rows once), each width/16 consecutive chunks of it from half
    /// <c>column</c>: one address per tile, the chunks at offsets the compiler folds into the loads and stores, no loop
    /// and no division. Rows past the valid ones repeat the last valid row (through registers) or are 0 (cp.async)
    /// instead of reading past the sequence: a key row's scores are masked (probability 0, times a real, finite value)
    /// and a query row past the end is never stored. Columns past the head dim are 0 (as the scores need).
    /// </summary>
    private readonly struct TileCopy<TC> where TC : struct, IOperandCopies
    {
        private readonly AttentionTileCopy _kind;
        private readonly int _width, _dim, _row, _column, _present;
        private readonly bool _async;

        /// <param name="dim">The head dim (every tile's columns).</param>
        public TileCopy(AttentionTileCopy kind, int width, int dim)
        {
            int t = Group.IdxX;
            _kind = kind;
            _width = width;
            _dim = dim;
            _async = default(TC).Async && kind != AttentionTileCopy.Elements;
            _row = LoopInvariant.Keep(t >> 1);
            _column = LoopInvariant.Keep((t & 1) * 8 * Chunks);
            _present = kind == AttentionTileCopy.FullWidthChunks ? Chunks : LoopInvariant.Keep((dim - _column + 7) >> 3);
        }

        public int Width => _width;

        /// <summary>The tile row this thread copies, and its first column.</summary>
        public int Row => _row;

        public int Column => _column;

        /// <summary>Whether <see cref="Start"/> is how K and V are copied (cp.async: <typeparamref name="TC"/>, with 16-byte chunks).</summary>
        public bool Async => _async;

        /// <summary>16-byte chunks per thread and tile: 3, 4, 5 or 10 (a constant of each variant).</summary>
        private int Chunks => _width / 16;

        /// <summary>
        /// 64 rows of head-dim halves (row r at (row0 + r)·stride + offset) into a shared tile at byte
        /// <paramref name="tile"/>, [row][width] with the layout's pitch (<paramref name="valid"/> ≥ 1 rows are real).
        /// </summary>
        public void Copy(ArrayView<ushort> source, ArrayView<ushort> shared, int tile, int row0, int valid, int stride, int offset)
        {
            int pitch = FlashAttentionLayout.Pitch(_width);
            if (_kind == AttentionTileCopy.Elements)
            {
                for (int e = Group.IdxX; e < FlashAttentionLayout.Rows * _width; e += FlashAttentionLayout.Threads)
                {
                    int r = SmallDivision.Quotient(e, _width), d = e - r * _width;   // the width is a constant of each variant
                    shared[tile / 2 + r * pitch + d] = r < valid && d < _dim ? source[(row0 + r) * stride + offset + d] : (ushort)0;
                }
                return;
            }
            int row = XMath.Min(_row, valid - 1);
            var chunks = new ChunkRow(
                source.Cast<Half8>().SubView((long)(((row0 + row) * stride + offset + _column) >> 3)),   // 64-bit: the offsets fold
                shared.Cast<Half8>().SubView(TargetByte(tile) >> 4),
                _present);
            CopyAll(chunks);
        }

        /// <summary>
        /// Starts this thread's cp.async copies of a row at global byte <paramref name="row"/> (its first chunk) into the
        /// tile at byte <paramref name="tile"/>, zeros where not <paramref name="inside"/> (<see cref="Async"/> only;
        /// <see cref="Wait"/> before the barrier).
        /// </summary>
        public void Start(ArrayView<ushort> shared, long row, bool inside, int tile)
        {
            if (_kind == AttentionTileCopy.FullWidthChunks) CopyAll(new FullAsyncChunkRow<TC>(shared.Cast<Half8>(), row, TargetByte(tile) >> 4, inside));
            else CopyAll(new AsyncChunkRow<TC>(shared.Cast<Half8>(), row, TargetByte(tile) >> 4, _present, inside));
        }

        /// <summary>
        /// With <see cref="Async"/> copies, zeros this thread's chunks past the head dim in the tile at byte
        /// <paramref name="tile"/> once: the copies never write them.
        /// </summary>
        public void ClearAbsent(ArrayView<ushort> shared, int tile)
        {
            if (_async) CopyAll(new AbsentChunks(shared.Cast<Half8>(), TargetByte(tile) >> 4, _present));
        }

        /// <summary>Waits for this thread's cp.async copies (none without them).</summary>
        public void Wait()
        {
            if (_async) AsyncCopy.WaitAll();
        }

        private int TargetByte(int tile) => tile + (_row * FlashAttentionLayout.Pitch(_width) + _column) * 2;

        private void CopyAll<T>(T chunks) where T : struct, IChunkCopy
        {
            // Written out (ILGPU keeps even constant-count loops as loops).
            CopyFive(chunks, 0, Chunks);
            if (Chunks > 5) CopyFive(chunks, 5, Chunks - 5);
        }

        /// <summary>Chunks first … first + count − 1, count ≤ 5 (a constant: the unused copies fold away).</summary>
        private static void CopyFive<T>(T chunks, int first, int count) where T : struct, IChunkCopy
        {
            chunks.Copy(first);
            if (count > 1) chunks.Copy(first + 1);
            if (count > 2) chunks.Copy(first + 2);
            if (count > 3) chunks.Copy(first + 3);
            if (count > 4) chunks.Copy(first + 4);
        }
    }

    /// <summary>The 16-byte chunks of one row a thread copies: those from <c>present</c> on (past the head dim) are 0.</summary>
    private interface IChunkCopy
    {
        void Copy(int j);
    }

    /// <summary>Through registers (ld.global.v4, st.shared.v4).</summary>
    private readonly record struct ChunkRow(ArrayView<Half8> Source, ArrayView<Half8> Target, int Present) : IChunkCopy
    {
        public void Copy(int j) => Target[j] = j < Present ? Source[j] : default;
    }

    /// <summary>
    /// By cp.async from the row's global byte address to its shared 16-byte slot (a row not <c>Inside</c> reads nothing
    /// and copies zeros): one address, the chunks' offsets folded into the copies. Chunks past the head dim are not
    /// copied at all; <see cref="AbsentChunks"/> zeroed them once.
    /// </summary>
    private readonly record struct AsyncChunkRow<TC>(ArrayView<Half8> Shared, long Source, int Target, int Present, bool Inside) : IChunkCopy
        where TC : struct, IOperandCopies
    {
        public void Copy(int j)
        {
            if (j < Present) default(TC).AttentionChunk(Shared, Target + j, Source + 16 * j, Inside);
        }
    }

    /// <summary>
    /// As <see cref="AsyncChunkRow{TC}"/> when the head dim fills the width: no test per chunk (even a constant one
    /// costs ILGPU's code 7–13 instructions a key block).
    /// </summary>
    private readonly record struct FullAsyncChunkRow<TC>(ArrayView<Half8> Shared, long Source, int Target, bool Inside) : IChunkCopy
        where TC : struct, IOperandCopies
    {
        public void Copy(int j) => default(TC).AttentionChunk(Shared, Target + j, Source + 16 * j, Inside);
    }

    /// <summary>Zeros the chunks of a row past the head dim (those from <c>Present</c> on).</summary>
    private readonly record struct AbsentChunks(ArrayView<Half8> Shared, int Target, int Present) : IChunkCopy
    {
        public void Copy(int j)
        {
            if (j >= Present) Shared[Target + j] = default;
        }
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
