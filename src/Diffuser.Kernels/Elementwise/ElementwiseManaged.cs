namespace Diffuser.Kernels.Elementwise;

/// <summary>Managed element-wise and data-movement ops. Large inputs run in parallel chunks.</summary>
public static class ElementwiseManaged
{
    private const int Chunk = 1 << 14;

    /// <summary>Runs <paramref name="body"/> over [0, length) in parallel chunks of contiguous indices.</summary>
    public static void ForChunks(long length, Action<int, int> body)
    {
        int chunks = (int)((length + Chunk - 1) / Chunk);
        if (chunks <= 1) { body(0, (int)length); return; }
        Parallel.For(0, chunks, c =>
        {
            int start = c * Chunk;
            body(start, (int)Math.Min(Chunk, length - start));
        });
    }

    public static void Activate(ReadOnlyMemory<float> x, Memory<float> y, ActivationKind kind) =>
        ForChunks(y.Length, (start, count) =>
        {
            var xs = x.Span.Slice(start, count);
            var ys = y.Span.Slice(start, count);
            for (int i = 0; i < count; i++) ys[i] = ActivationMath.Apply(xs[i], kind);
        });

    public static void Binary(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b, Memory<float> y, BinaryOp op) =>
        ForChunks(y.Length, (start, count) =>
        {
            var asp = a.Span.Slice(start, count);
            var bsp = b.Span.Slice(start, count);
            var ys = y.Span.Slice(start, count);
            for (int i = 0; i < count; i++) ys[i] = BinaryMath.Apply(asp[i], bsp[i], op);
        });

    /// <summary>y = clamp(scale·x + shift, min, max).</summary>
    public static void Affine(ReadOnlyMemory<float> x, Memory<float> y, float scale, float shift, float min, float max) =>
        ForChunks(y.Length, (start, count) =>
        {
            var xs = x.Span.Slice(start, count);
            var ys = y.Span.Slice(start, count);
            for (int i = 0; i < count; i++) ys[i] = MathF.Min(MathF.Max(scale * xs[i] + shift, min), max);
        });

    /// <summary>y[n, c, p] = x[n, c, p] + bias[n·batchStride + c]: a per-(batch, channel) bias over the spatial positions.</summary>
    public static void AddChannelBias(ReadOnlyMemory<float> x, ReadOnlyMemory<float> bias, Memory<float> y, int channels, int spatial, int biasBatchStride) =>
        Parallel.For(0, (int)(y.Length / spatial), plane =>
        {
            int n = plane / channels, c = plane % channels;
            float b = bias.Span[n * biasBatchStride + c];
            var xs = x.Span.Slice(plane * spatial, spatial);
            var ys = y.Span.Slice(plane * spatial, spatial);
            for (int i = 0; i < spatial; i++) ys[i] = xs[i] + b;
        });

    /// <summary>GEGLU over rows of 2·<paramref name="half"/>: y = x[:half] · gelu(x[half:]).</summary>
    public static void Geglu(ReadOnlyMemory<float> x, Memory<float> y, int half) =>
        Parallel.For(0, (int)(y.Length / half), row =>
        {
            var xs = x.Span.Slice(row * 2 * half, 2 * half);
            var ys = y.Span.Slice(row * half, half);
            for (int i = 0; i < half; i++) ys[i] = xs[i] * ActivationMath.GeluErf(xs[half + i]);
        });

    /// <summary>Concatenates along one axis: a [outer, innerA] and b [outer, innerB] into y [outer, innerA + innerB].</summary>
    public static void Concat(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b, Memory<float> y, int outer, int innerA, int innerB)
    {
        var ys = y.Span;
        for (int o = 0; o < outer; o++)
        {
            a.Span.Slice(o * innerA, innerA).CopyTo(ys.Slice(o * (innerA + innerB), innerA));
            b.Span.Slice(o * innerB, innerB).CopyTo(ys.Slice(o * (innerA + innerB) + innerA, innerB));
        }
    }

    /// <summary>Copies y [outer, length] = x [outer, sourceInner][:, start : start + length].</summary>
    public static void Narrow(ReadOnlyMemory<float> x, Memory<float> y, int outer, int sourceInner, int start, int length)
    {
        var ys = y.Span;
        for (int o = 0; o < outer; o++)
            x.Span.Slice(o * sourceInner + start, length).CopyTo(ys.Slice(o * length, length));
    }

    /// <summary>y [batch, cols, rows] = transpose of x [batch, rows, cols].</summary>
    public static void Transpose(ReadOnlyMemory<float> x, Memory<float> y, int batch, int rows, int cols) =>
        Parallel.For(0, batch, b =>
        {
            var xs = x.Span.Slice(b * rows * cols, rows * cols);
            var ys = y.Span.Slice(b * rows * cols, rows * cols);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    ys[c * rows + r] = xs[r * cols + c];
        });
}
