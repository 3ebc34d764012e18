using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Fused attention, flash-style (device code). Grid (query blocks, heads, batch); a group of 4R threads owns R queries of one
/// head (R = 64, or 32 for head dims above 64 to fit shared memory). Teams of 16 lanes share 4 query rows
/// (team + i·R/4); lane t of a team scores keys t and t + 16 of each 32-key tile and accumulates output dimensions
/// t + 16c. Per key tile: K is staged transposed, scores and an online softmax update the running max/sum, the
/// probabilities go to shared memory, V is staged in the same buffer and multiplied in. The L×S score matrix is
/// never stored. The head dimension is specialised, so the 10 output chunks fold to the ones used. q, k and v are
/// read with their row strides and column offsets, so one packed projection [B, L, 3·H·D] can serve all three.
/// </summary>
public static class AttentionKernels
{
    public const int KeyTile = 32;
    public const int TeamLanes = 16;
    public const int RowsPerTeam = 4;
    public const int MaxHeadDim = 160;

    /// <summary>Query rows per group for a head dimension.</summary>
    public static int QueryRows(int headDim) => headDim > 64 ? 32 : 64;

    public static int Threads(int headDim) => QueryRows(headDim) / RowsPerTeam * TeamLanes;

    private static int Chunks(int headDim) => (headDim + TeamLanes - 1) / TeamLanes;

    /// <summary>Staging buffer for K (transposed, [D, 33]) and then V ([32, chunks·16], zero padded).</summary>
    private static int KeyValueLength(int headDim) => XMath.Max(headDim * (KeyTile + 1), KeyTile * Chunks(headDim) * TeamLanes);

    /// <summary>Dynamic shared memory per group, in floats: Q block, K/V buffer, probabilities.</summary>
    public static int SharedFloats(int headDim)
    {
        int ld = QueryRows(headDim) + 1;
        return headDim * ld + KeyValueLength(headDim) + KeyTile * ld;
    }

    public static void Attention<T>(T q, T k, T v, T o, AttentionShape s, SpecializedValue<int> headDim) where T : struct, IElementView<T>
    {
        int dim = headDim, chunks = Chunks(dim);
        int rows = QueryRows(dim), ld = rows + 1, valueLd = chunks * TeamLanes;
        var shared = SharedMemory.GetDynamic<float>();
        var qs = shared.SubView(0, dim * ld);
        var kv = shared.SubView(dim * ld, KeyValueLength(dim));
        var ps = shared.SubView(dim * ld + KeyValueLength(dim), KeyTile * ld);

        int batch = Grid.IdxZ, head = Grid.IdxY, q0 = Grid.IdxX * rows;
        int t = Group.IdxX, team = t / TeamLanes, lane = t % TeamLanes, threads = Group.DimX;
        int teams = threads / TeamLanes; // a team's rows are team + teams·i, i < 4
        int column = head * dim;

        for (int e = t; e < rows * dim; e += threads)
        {
            int r = e / dim, d = e - r * dim;
            qs[d * ld + r] = q0 + r < s.QueryLength ? q.Load((batch * s.QueryLength + q0 + r) * s.QueryStride + s.QueryOffset + column + d) : 0f;
        }

        var r0 = AttentionRow.Start();
        var r1 = AttentionRow.Start();
        var r2 = AttentionRow.Start();
        var r3 = AttentionRow.Start();
        int keyEnd = s.Causal != 0 ? XMath.Min(s.KeyLength, q0 + rows) : s.KeyLength;
        for (int key0 = 0; key0 < keyEnd; key0 += KeyTile)
        {
            Group.Barrier();
            for (int e = t; e < KeyTile * dim; e += threads)
            {
                int j = e / dim, d = e - j * dim;
                kv[d * (KeyTile + 1) + j] = key0 + j < s.KeyLength ? k.Load((batch * s.KeyLength + key0 + j) * s.KeyStride + s.KeyOffset + column + d) : 0f;
            }
            Group.Barrier();

            for (int d = 0; d < dim; d++)
            {
                float k0 = kv[d * (KeyTile + 1) + lane], k1 = kv[d * (KeyTile + 1) + lane + TeamLanes];
                int qi = d * ld + team;
                r0.AddScores(qs[qi], k0, k1);
                r1.AddScores(qs[qi + teams], k0, k1);
                r2.AddScores(qs[qi + 2 * teams], k0, k1);
                r3.AddScores(qs[qi + 3 * teams], k0, k1);
            }
            r0.Softmax(q0 + team, key0, lane, s, ps, ld, team);
            r1.Softmax(q0 + team + teams, key0, lane, s, ps, ld, team + teams);
            r2.Softmax(q0 + team + 2 * teams, key0, lane, s, ps, ld, team + 2 * teams);
            r3.Softmax(q0 + team + 3 * teams, key0, lane, s, ps, ld, team + 3 * teams);
            Group.Barrier();

            for (int e = t; e < KeyTile * valueLd; e += threads)
            {
                int j = e / valueLd, d = e - j * valueLd;
                kv[e] = key0 + j < s.KeyLength && d < dim ? v.Load((batch * s.KeyLength + key0 + j) * s.KeyStride + s.ValueOffset + column + d) : 0f;
            }
            Group.Barrier();

            for (int j = 0; j < KeyTile; j++)
            {
                var values = HeadChunks.Load(kv, j * valueLd + lane, chunks);
                r0.Output.Fma(ps[j * ld + team], values);
                r1.Output.Fma(ps[j * ld + team + teams], values);
                r2.Output.Fma(ps[j * ld + team + 2 * teams], values);
                r3.Output.Fma(ps[j * ld + team + 3 * teams], values);
            }
        }

        Store(o, r0, q0 + team, batch, column + lane, dim - lane, s);
        Store(o, r1, q0 + team + teams, batch, column + lane, dim - lane, s);
        Store(o, r2, q0 + team + 2 * teams, batch, column + lane, dim - lane, s);
        Store(o, r3, q0 + team + 3 * teams, batch, column + lane, dim - lane, s);
    }

    private static void Store<T>(T o, in AttentionRow row, int query, int batch, int column, int limit, in AttentionShape s) where T : struct, IElementView<T>
    {
        if (query < s.QueryLength)
            row.Output.Store(o, (batch * s.QueryLength + query) * s.Width + column, 1f / row.Sum, limit);
    }
}
