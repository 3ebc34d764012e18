using Diffuser.Kernels.Attention;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// Fused multi-head attention, softmax(scale · q·kᵀ)·v per head, never materialising the score matrix on GPUs.
    /// q [B, L, H·D], k and v [B, S, H·D] (heads packed as the projections produce them) → [B, L, H·D].
    /// The default scale is 1/√D; <paramref name="causal"/> masks keys after each query (CLIP's text encoder).
    /// </summary>
    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, float? scale = null, bool causal = false)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3) throw Shape("Attention", $"q, k, v must be [B, L, H·D], got {q.Shape}, {k.Shape}, {v.Shape}");
        int width = q.Shape[2];
        if (!k.Shape.Equals(v.Shape) || k.Shape[0] != q.Shape[0] || k.Shape[2] != width)
            throw Shape("Attention", $"k {k.Shape} and v {v.Shape} must be [{q.Shape[0]}, S, {width}] for q {q.Shape}");
        return AttentionOf("Attention", width, q, width, 0, k, v, width, 0, 0, heads, scale, causal);
    }

    /// <summary>
    /// Self-attention on a fused projection: <paramref name="qkv"/> [B, L, 3·H·D] holds q, k and v side by side (one
    /// GEMM made all three); the kernel reads each with its column offset. Returns [B, L, H·D].
    /// </summary>
    public Tensor SelfAttention(Tensor qkv, int heads, float? scale = null, bool causal = false)
    {
        if (qkv.Rank != 3 || qkv.Shape[2] % 3 != 0) throw Shape("SelfAttention", $"qkv must be [B, L, 3·H·D], got {qkv.Shape}");
        int width = qkv.Shape[2] / 3;
        return AttentionOf("SelfAttention", width, qkv, qkv.Shape[2], 0, qkv, qkv, qkv.Shape[2], width, 2 * width, heads, scale, causal);
    }

    /// <summary>Cross-attention with k and v from one fused projection: q [B, L, H·D], kv [B, S, 2·H·D] → [B, L, H·D].</summary>
    public Tensor CrossAttention(Tensor q, Tensor kv, int heads, float? scale = null)
    {
        if (q.Rank != 3 || kv.Rank != 3 || kv.Shape[2] != 2 * q.Shape[2] || kv.Shape[0] != q.Shape[0])
            throw Shape("CrossAttention", $"q must be [B, L, H·D] and kv [B, S, 2·H·D], got {q.Shape} and {kv.Shape}");
        int width = q.Shape[2];
        return AttentionOf("CrossAttention", width, q, width, 0, kv, kv, kv.Shape[2], 0, width, heads, scale, false);
    }

    /// <summary>
    /// The one attention op: heads of <paramref name="width"/> = H·D columns, q rows of <paramref name="queryStride"/>
    /// elements, k and v rows of <paramref name="keyStride"/>, each starting at its column offset.
    /// </summary>
    private Tensor AttentionOf(string op, int width, Tensor q, int queryStride, int queryOffset, Tensor k, Tensor v, int keyStride, int keyOffset,
        int valueOffset, int heads, float? scale, bool causal)
    {
        var dtype = RequireSameDType(op, q, k, v);
        if (heads < 1 || width % heads != 0) throw Shape(op, $"width {width} does not split into {heads} heads");
        int headDim = width / heads;
        var s = new AttentionShape(q.Shape[0], heads, q.Shape[1], k.Shape[1], headDim, scale ?? 1f / MathF.Sqrt(headDim), causal ? 1 : 0)
        {
            QueryStride = queryStride, KeyStride = keyStride, QueryOffset = queryOffset, KeyOffset = keyOffset, ValueOffset = valueOffset,
        };
        if (headDim > MaxFusedHeadDim) return ComposedAttention(op, q, k, v, s);
        var y = Allocate(new TensorShape(q.Shape[0], q.Shape[1], width), dtype);
        // The inputs without repeats (a fused projection is read once, not three times), on the stack.
        using (Profile("attention", s.Flops, y, q, ReferenceEquals(k, q) ? null : k, ReferenceEquals(v, k) || ReferenceEquals(v, q) ? null : v))
            AttentionCore(q, k, v, y, s);
        return y;
    }

    /// <summary>The widest head the backend's fused attention takes; wider heads run <see cref="ComposedAttention"/>.</summary>
    protected virtual int MaxFusedHeadDim => int.MaxValue;

    /// <summary>
    /// Attention as separate ops for heads wider than the fused kernel takes (the VAE's one 512-wide head): per head,
    /// scores = scale · q·kᵀ materialised [B, L, S] in fp32 (fp16 operands, products never rounded), softmax, then the
    /// probabilities in the operands' dtype · v (as the tensor-core fused kernel, which multiplies fp16 probabilities).
    /// v goes in transposed, [B, D, S], so that both GEMMs read k-contiguous rows (16-byte copies on tensor cores).
    /// </summary>
    private Tensor ComposedAttention(string op, Tensor q, Tensor k, Tensor v, AttentionShape s)
    {
        if (s.Causal != 0) throw Shape(op, $"causal attention needs head dims up to {MaxFusedHeadDim} on {Name}, got {s.HeadDim}");
        return TensorJoin.Join(this, s.Heads, 2, h =>
        {
            using var qh = Narrow(q, 2, s.QueryOffset + h * s.HeadDim, s.HeadDim);
            using var kh = Narrow(k, 2, s.KeyOffset + h * s.HeadDim, s.HeadDim);
            using var vh = Narrow(v, 2, s.ValueOffset + h * s.HeadDim, s.HeadDim);
            using var vt = Transpose(vh);                                                      // (B, D, S)
            using var scores = Gemm(qh, kh, transB: true, alpha: s.Scale, output: DType.F32);  // (B, L, S)
            using var probabilities = Softmax(scores, output: q.DType);
            return Gemm(probabilities, vt, transB: true);                                      // (B, L, D)
        });
    }

    /// <summary>
    /// Softmax over the last dimension, computed in fp32; the result in x's dtype, or with <paramref name="output"/> =
    /// F16 for fp32 x rounded once to fp16 (composed attention's probabilities from its fp32 scores).
    /// </summary>
    public Tensor Softmax(Tensor x, DType? output = null)
    {
        var dtype = RequireSameDType("Softmax", x);
        if (x.Rank == 0) throw Shape("Softmax", "input is a scalar");
        var y = Allocate(x.Shape, ResultDType("Softmax", dtype, output, DType.F32, DType.F16));
        int cols = x.Shape[-1];
        using (Profile("softmax", 4 * x.Length, y, x)) SoftmaxCore(x, y, (int)(x.Length / Math.Max(cols, 1)), cols);
        return y;
    }

    protected abstract void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape);
    protected abstract void SoftmaxCore(Tensor x, Tensor y, int rows, int cols);
}
