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
        RequireF32(q, k, v);
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3) throw Shape("Attention", $"q, k, v must be [B, L, H·D], got {q.Shape}, {k.Shape}, {v.Shape}");
        int width = q.Shape[2];
        if (heads < 1 || width % heads != 0) throw Shape("Attention", $"width {width} does not split into {heads} heads");
        if (!k.Shape.Equals(v.Shape) || k.Shape[0] != q.Shape[0] || k.Shape[2] != width)
            throw Shape("Attention", $"k {k.Shape} and v {v.Shape} must be [{q.Shape[0]}, S, {width}] for q {q.Shape}");
        int headDim = width / heads;
        var s = new AttentionShape(q.Shape[0], heads, q.Shape[1], k.Shape[1], headDim,
            scale ?? 1f / MathF.Sqrt(headDim), causal ? 1 : 0);
        var y = Allocate(q.Shape);
        using (Profile("attention", s.Flops, y, q, k, v)) AttentionCore(q, k, v, y, s);
        return y;
    }

    protected abstract void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape);
}
