using System.Buffers;
using System.Numerics;
using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// Managed GEMM: packs op(A) as rows and op(B) as columns (both contiguous in K), then computes each output as a
/// SIMD dot product, rows in parallel. This is the reference for the GEMM kernel and the cpu backend's GEMM.
/// </summary>
public static class GemmManaged
{
    public static void Run(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b, ReadOnlyMemory<float> bias, Memory<float> c, GemmShape s)
    {
        int m = s.M, n = s.N, k = s.K;
        float[] packedA = ArrayPool<float>.Shared.Rent(m * k);
        float[] packedB = ArrayPool<float>.Shared.Rent(n * k);
        try
        {
            for (int batch = 0; batch < s.Batch; batch++)
            {
                Pack(a.Span.Slice((int)(batch * s.BatchStrideA), m * k), packedA, m, k, transposed: s.TransA != 0);
                if (batch == 0 || s.BatchStrideB != 0)
                    Pack(b.Span.Slice((int)(batch * s.BatchStrideB), n * k), packedB, n, k, transposed: s.TransB == 0);
                var output = c.Slice(batch * m * n, m * n);
                Parallel.For(0, m, row =>
                {
                    var aRow = new ReadOnlySpan<float>(packedA, row * k, k);
                    var cRow = output.Span.Slice(row * n, n);
                    var biasSpan = bias.Span;
                    for (int col = 0; col < n; col++)
                    {
                        float v = s.Alpha * Dot(aRow, new ReadOnlySpan<float>(packedB, col * k, k));
                        if (s.HasBias != 0) v += biasSpan[col];
                        cRow[col] = ActivationMath.Apply(v, s.Activation);
                    }
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedA);
            ArrayPool<float>.Shared.Return(packedB);
        }
    }

    /// <summary>Writes <paramref name="rows"/> rows of length <paramref name="k"/>; a transposed source is stored [k, rows].</summary>
    private static void Pack(ReadOnlySpan<float> source, float[] packed, int rows, int k, bool transposed)
    {
        if (!transposed)
        {
            source[..(rows * k)].CopyTo(packed);
            return;
        }
        for (int kk = 0; kk < k; kk++)
            for (int r = 0; r < rows; r++)
                packed[r * k + kk] = source[kk * rows + r];
    }

    /// <summary>Dot product with one accumulator per SIMD lane (more accurate than a single running sum).</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        float sum = 0f;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                acc += new Vector<float>(x[i..]) * new Vector<float>(y[i..]);
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }
}
