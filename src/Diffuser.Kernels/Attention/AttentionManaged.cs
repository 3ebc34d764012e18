using System.Buffers;
using System.Numerics;
using Diffuser.Kernels.Gemm;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Managed attention: one (batch, head, query) row at a time, scores, a max-subtracted softmax, then ·V. Rows run in
/// parallel by runs of <see cref="RowsPerJob"/> queries of one head, so that a single head (the VAE's) uses every core.
/// </summary>
public static class AttentionManaged
{
    private const int RowsPerJob = 64;

    public static void Run(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v, Memory<float> output, AttentionShape s)
    {
        int width = s.Width, runs = (s.QueryLength + RowsPerJob - 1) / RowsPerJob;
        Parallel.For(0, s.Batch * s.Heads * runs, job =>
        {
            int b = job / runs / s.Heads, h = job / runs % s.Heads, first = job % runs * RowsPerJob;
            float[] scores = ArrayPool<float>.Shared.Rent(s.KeyLength);
            float[] acc = ArrayPool<float>.Shared.Rent(s.HeadDim);
            try
            {
                for (int l = first; l < Math.Min(first + RowsPerJob, s.QueryLength); l++)
                {
                    var qRow = q.Span.Slice((b * s.QueryLength + l) * s.QueryStride + s.QueryOffset + h * s.HeadDim, s.HeadDim);
                    int keys = s.Causal != 0 ? Math.Min(l + 1, s.KeyLength) : s.KeyLength;
                    var kSpan = k.Span;
                    for (int j = 0; j < keys; j++)
                        scores[j] = s.Scale * GemmManaged.Dot(qRow, kSpan.Slice((b * s.KeyLength + j) * s.KeyStride + s.KeyOffset + h * s.HeadDim, s.HeadDim));
                    Softmax(scores.AsSpan(0, keys));

                    var a = acc.AsSpan(0, s.HeadDim);
                    a.Clear();
                    var vSpan = v.Span;
                    for (int j = 0; j < keys; j++)
                        AddScaled(a, scores[j], vSpan.Slice((b * s.KeyLength + j) * s.KeyStride + s.ValueOffset + h * s.HeadDim, s.HeadDim));
                    a.CopyTo(output.Span.Slice((b * s.QueryLength + l) * width + h * s.HeadDim, s.HeadDim));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scores);
                ArrayPool<float>.Shared.Return(acc);
            }
        });
    }

    /// <summary>a += p·x element by element (SIMD lanes compute each element exactly as the scalar loop would).</summary>
    private static void AddScaled(Span<float> a, float p, ReadOnlySpan<float> x)
    {
        int d = 0;
        if (Vector.IsHardwareAccelerated)
            for (; d <= a.Length - Vector<float>.Count; d += Vector<float>.Count)
                (new Vector<float>(a[d..]) + p * new Vector<float>(x[d..])).CopyTo(a[d..]);
        for (; d < a.Length; d++) a[d] += p * x[d];
    }

    /// <summary>Softmax of every row of <paramref name="cols"/> values of x into y.</summary>
    public static void RowSoftmax(ReadOnlyMemory<float> x, Memory<float> y, int rows, int cols) =>
        Parallel.For(0, rows, row =>
        {
            var output = y.Span.Slice(row * cols, cols);
            x.Span.Slice(row * cols, cols).CopyTo(output);
            Softmax(output);
        });

    /// <summary>In-place softmax of one row (max-subtracted; a row of equal very negative values stays finite).</summary>
    public static void Softmax(Span<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float x in row) max = MathF.Max(max, x);
        float sum = 0f;
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = MathF.Exp(row[i] - max);
            sum += row[i];
        }
        float inv = 1f / sum;
        for (int i = 0; i < row.Length; i++) row[i] *= inv;
    }

    /// <summary>In-place log-softmax of one row: x − max − log Σ exp(x − max).</summary>
    public static void LogSoftmax(Span<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float x in row) max = MathF.Max(max, x);
        double sum = 0;
        foreach (float x in row) sum += MathF.Exp(x - max);
        float logSum = (float)Math.Log(sum);
        for (int i = 0; i < row.Length; i++) row[i] = row[i] - max - logSum;
    }
}
