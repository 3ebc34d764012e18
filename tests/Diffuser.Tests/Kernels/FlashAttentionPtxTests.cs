using Diffuser.Kernels.Attention;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core attention PTX of every width, run by <see cref="PtxWarpInterpreter"/> for the 4 warps of a group
/// with the kernel's own lane offsets over shared-memory images as the kernel prepares them (Q, then each key block's
/// K and V in its stage, zero past the head dim and the keys; NaN in the row padding, so reading it fails): the staged output must
/// be the attention of the group's 64 query rows over 77 keys (a full and a partial block). A variant with two
/// probabilities swapped must fail the same check.
/// </summary>
public class FlashAttentionPtxTests
{
    private const int Keys = 77;
    /// <summary>The tensor cores multiply P in fp16: up to 2⁻¹¹·max|v| per output (see <c>OpCaseFactory.Half</c>).</summary>
    private const double Atol = 1e-3;

    public static TheoryData<int> Widths() => new(FlashAttentionLayout.Widths);

    [Theory, MemberData(nameof(Widths))]
    public void EveryWarpStagesTheAttentionOfItsRows(int width)
    {
        double error = MaxError(width, Ptx(width));
        Assert.True(error <= Atol, $"width {width}: max |error| {error}");
    }

    [Theory, MemberData(nameof(Widths))]
    public void SwappedProbabilitiesFail(int width)
    {
        var ptx = Ptx(width);
        ptx.Softmax = ptx.Softmax.Replace("cvt.rn.f16x2.f32 fa_p0_0, fa_s0_1, fa_s0_0;", "cvt.rn.f16x2.f32 fa_p0_0, fa_s0_0, fa_s0_1;", StringComparison.Ordinal);
        Assert.NotEqual(Ptx(width).Softmax, ptx.Softmax);
        Assert.True(MaxError(width, ptx) > 10 * Atol);
    }

    [Fact]
    public void LayoutFitsTheSharedMemoryAndPadsRowsConflictFree()
    {
        foreach (int width in FlashAttentionLayout.Widths)
        {
            Assert.True(FlashAttentionLayout.SharedBytes(width) <= 48 * 1024, "more than 48 KB of dynamic shared memory needs cuFuncSetAttribute");
            Assert.True(FlashAttentionLayout.Rows * FlashAttentionLayout.StagingPitch(width) * 4 <= FlashAttentionLayout.SharedBytes(width));
            Assert.Equal(1, FlashAttentionLayout.Pitch(width) * 2 / 16 % 2);   // odd multiple of 16 bytes
        }
        Assert.True(FlashAttentionLayout.Supports(40) && FlashAttentionLayout.Supports(64) && FlashAttentionLayout.Supports(80) && FlashAttentionLayout.Supports(160));
        Assert.False(FlashAttentionLayout.Supports(16) || FlashAttentionLayout.Supports(512));
    }

    private sealed record Text(string Declare, string LoadQuery, string Scores, string Mask, string Accumulate, string Finish)
    {
        public required string Softmax { get; set; }
    }

    private static Text Ptx(int width)
    {
        var type = typeof(FlashAttentionPtx).Assembly.GetType($"{typeof(FlashAttentionPtx).FullName}{width}")!;
        string Get(string name) => (string)type.GetField(name)!.GetRawConstantValue()!;
        return new(Get("Declare"), Get("LoadQuery"), Get("Scores"), FlashAttentionPtx.Mask, Get("Accumulate"), Get("Finish")) { Softmax = Get("Softmax") };
    }

    /// <summary>Max |staged − reference| over the group's 64 rows and the head dim, for random Q, K, V of one head.</summary>
    private static double MaxError(int width, Text ptx)
    {
        var random = new Random(width);
        int dim = width - 8, pitch = FlashAttentionLayout.Pitch(width), values = FlashAttentionLayout.TileBytes(width);
        float scale = 1f / MathF.Sqrt(dim);
        float[,] q = Matrix(random, FlashAttentionLayout.Rows, dim), k = Matrix(random, Keys, dim), v = Matrix(random, Keys, dim);

        // A tile pair as the kernel copies it: rows of the first matrix from byte at, of the second (V) TileBytes later.
        void Place(byte[] shared, int at, float[,] first, int firstRow, float[,]? second)
        {
            for (int r = 0; r < FlashAttentionLayout.Rows; r++)
                for (int d = 0; d < pitch; d++)
                {
                    Put(shared, at + (r * pitch + d) * 2, Element(first, firstRow + r, d, width));
                    if (second is not null) Put(shared, at + values + (r * pitch + d) * 2, Element(second, firstRow + r, d, width));
                }
        }

        double worst = 0;
        for (int warp = 0; warp < 4; warp++)
        {
            var shared = new byte[FlashAttentionLayout.SharedBytes(width)];
            Place(shared, FlashAttentionLayout.QueryOffset(width), q, 0, null);
            var run = new PtxWarpInterpreter(shared);
            run.Run(ptx.Declare);
            run.Run(ptx.LoadQuery, lane => [FlashAttentionLayout.QueryOffset(width) + FlashAttentionLayout.QueryLaneOffset(width, warp, lane)]);
            for (int key0 = 0, block = 0; key0 < Keys; key0 += FlashAttentionLayout.Keys, block++)
            {
                // Block b in stage b % stages, as the kernel alternates them.
                int stage = FlashAttentionLayout.StageOffset(width, block % FlashAttentionLayout.Stages(width));
                Place(shared, stage, k, key0, v);
                run.Run(ptx.Scores, lane => [stage + FlashAttentionLayout.KeyLaneOffset(width, lane)]);
                if (Keys - key0 < FlashAttentionLayout.Keys) run.Run(ptx.Mask, lane => [Keys - key0 - 2 * (lane % 4)]);
                run.Run(ptx.Softmax, _ => [BitConverter.SingleToInt32Bits(scale * 1.44269504f)]);
                run.Run(ptx.Accumulate, lane => [stage + FlashAttentionLayout.ValueLaneOffset(width, lane)]);
            }
            run.Run(ptx.Finish, lane => [FlashAttentionLayout.StagingLaneOffset(width, warp, lane)]);
            for (int r = 16 * warp; r < 16 * warp + 16; r++)
            {
                var expected = Reference(q, k, v, r, scale);
                for (int d = 0; d < dim; d++)
                    worst = Math.Max(worst, Math.Abs(BitConverter.ToSingle(shared, (r * FlashAttentionLayout.StagingPitch(width) + d) * 4) - expected[d]));
            }
        }
        return worst;
    }

    private static float[,] Matrix(Random random, int rows, int dim)
    {
        var m = new float[rows, dim];
        for (int r = 0; r < rows; r++)
            for (int d = 0; d < dim; d++) m[r, d] = (float)(Half)(random.NextDouble() * 4 - 2);
        return m;
    }

    /// <summary>What the kernel's tile copy leaves at (row, d): the value, 0 past the rows or the head dim, NaN in the row padding.</summary>
    private static Half Element(float[,] m, int row, int d, int width) =>
        d >= width ? Half.NaN : row < m.GetLength(0) && d < m.GetLength(1) ? (Half)m[row, d] : (Half)0;

    private static void Put(byte[] image, int at, Half h) => BitConverter.TryWriteBytes(image.AsSpan(at), BitConverter.HalfToUInt16Bits(h));

    private static double[] Reference(float[,] q, float[,] k, float[,] v, int row, float scale)
    {
        int keys = k.GetLength(0), dim = k.GetLength(1);
        var scores = new double[keys];
        for (int j = 0; j < keys; j++)
        {
            double dot = 0;
            for (int d = 0; d < dim; d++) dot += q[row, d] * k[j, d];
            scores[j] = dot * scale;
        }
        double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
        var o = new double[dim];
        for (int j = 0; j < keys; j++)
            for (int d = 0; d < dim; d++) o[d] += Math.Exp(scores[j] - max) / sum * v[j, d];
        return o;
    }
}
