using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' BasicTransformerBlock (layer_norm type): self-attention, cross-attention on the text context, then a
/// GEGLU feed-forward, each on a layer-normed input and added back to the residual stream (the add fused into each
/// branch's last projection).
/// </summary>
public sealed class BasicTransformerBlock
{
    private const float LayerNormEps = 1e-5f;
    private const int FeedForwardMult = 4;
    private readonly LayerNormLayer _norm1, _norm2, _norm3;
    private readonly Attention _attn1, _attn2;
    private readonly LinearLayer _ffProj, _ffOut;

    public BasicTransformerBlock(WeightScope w, int dim, int heads, int headDim, int crossAttentionDim)
    {
        _norm1 = new LayerNormLayer(w.Scope("norm1"), dim, LayerNormEps);
        _attn1 = new Attention(w.Scope("attn1"), selfAttention: true, dim, dim, heads, headDim, projectionBias: false);
        _norm2 = new LayerNormLayer(w.Scope("norm2"), dim, LayerNormEps);
        _attn2 = new Attention(w.Scope("attn2"), selfAttention: false, dim, crossAttentionDim, heads, headDim, projectionBias: false);
        _norm3 = new LayerNormLayer(w.Scope("norm3"), dim, LayerNormEps);
        var ff = w.Scope("ff").Scope("net");
        int inner = dim * FeedForwardMult;
        _ffProj = new LinearLayer(ff.Scope(0).Scope("proj"), dim, 2 * inner);  // GEGLU: value and gate halves
        _ffOut = new LinearLayer(ff.Scope(2), inner, dim);
    }

    /// <param name="x">(B, L, D) tokens</param>
    /// <param name="context">(B, S, cross_attention_dim) text embeddings</param>
    public Tensor Forward(Backend ops, Tensor x, CrossAttentionContext context)
    {
        using var h = new TensorChain(x);
        using (var n = _norm1.Forward(ops, h.Current))
            h.Advance(_attn1.Forward(ops, n, residual: h.Current));           // h = attn1(norm1(h)) + h
        using (var n = _norm2.Forward(ops, h.Current))
            h.Advance(_attn2.Forward(ops, n, context, residual: h.Current));  // h = attn2(norm2(h), context) + h
        using (var n = _norm3.Forward(ops, h.Current))
            h.Advance(FeedForward(ops, n, residual: h.Current));              // h = ff(norm3(h)) + h
        return h.Detach();
    }

    /// <summary>net.2(value · gelu(gate)) + residual with [value | gate] = net.0.proj(x), the GEGLU fused into the projection.</summary>
    private Tensor FeedForward(Backend ops, Tensor x, Tensor residual)
    {
        using var gated = _ffProj.ForwardGeglu(ops, x);               // (B, L, 4D)
        return _ffOut.Forward(ops, gated, residual: residual);         // (B, L, D)
    }
}
