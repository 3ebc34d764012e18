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
    /// <summary>
    /// C = act(alpha·op(A)·op(B) + bias) + residual, or with <see cref="GemmShape.Geglu"/> the fused GEGLU
    /// (alpha·v + bias_j)·gelu(alpha·g + bias_{N+j}) over op(B)'s 2·N columns. Empty memories stand for absent terms.
    /// </summary>
    public static void Run(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b, ReadOnlyMemory<float> bias, ReadOnlyMemory<float> residual,
        Memory<float> c, GemmShape s)
    {
        int m = s.M, n = s.N, columns = s.BColumns, k = s.K;
        float[] packedA = ArrayPool<float>.Shared.Rent(m * k);
        float[] packedB = ArrayPool<float>.Shared.Rent(columns * k);
        try
        {
            for (int batch = 0; batch < s.Batch; batch++)
            {
                Pack(a.Span.Slice((int)(batch * s.BatchStrideA), m * k), packedA, m, k, transposed: s.TransA != 0);
                if (batch == 0 || s.BatchStrideB != 0)
                    Pack(b.Span.Slice((int)(batch * s.BatchStrideB), columns * k), packedB, columns, k, transposed: s.TransB == 0);
                var output = c.Slice(batch * m * n, m * n);
                var added = s.HasResidual != 0 ? residual.Slice(batch * m * n, m * n) : ReadOnlyMemory<float>.Empty;
                Parallel.For(0, m, row =>
                {
                    var aRow = new ReadOnlySpan<float>(packedA, row * k, k);
                    var cRow = output.Span.Slice(row * n, n);
                    var biasSpan = bias.Span;
                    for (int col = 0; col < n; col++)
                    {
                        float v = s.Alpha * Dot(aRow, new ReadOnlySpan<float>(packedB, col * k, k));
                        if (s.HasBias != 0) v += biasSpan[s.BiasPerRow != 0 ? row : col];
                        if (s.Geglu != 0)
                        {
                            float gate = s.Alpha * Dot(aRow, new ReadOnlySpan<float>(packedB, (n + col) * k, k));
                            if (s.HasBias != 0) gate += biasSpan[n + col];
                            cRow[col] = v * ActivationMath.GeluErf(gate);
                            continue;
                        }
                        v = ActivationMath.Apply(v, s.Activation);
                        if (s.HasResidual != 0) v += added.Span[row * n + col];
                        cRow[col] = v;
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
