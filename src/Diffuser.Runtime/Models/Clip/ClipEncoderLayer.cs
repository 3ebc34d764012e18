using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Clip;

/// <summary>
/// transformers' <c>CLIPEncoderLayer</c> (pre-norm): h + out_proj(causal self-attention(layer_norm1(h))), then
/// + fc2(act(fc1(layer_norm2(·)))) with the activation fused into fc1. Weights under
/// <c>text_model.encoder.layers.{i}</c>: <c>self_attn.{q,k,v,out}_proj</c>, <c>layer_norm1/2</c>, <c>mlp.fc1/fc2</c>.
/// </summary>
internal sealed class ClipEncoderLayer
{
    private readonly LayerNormLayer _norm1, _norm2;
    private readonly LinearLayer _query, _key, _value, _out, _fc1, _fc2;
    private readonly int _heads;
    private readonly Activation _activation;

    public ClipEncoderLayer(WeightScope w, ClipTextConfig config)
    {
        int hidden = config.HiddenSize;
        float eps = (float)config.LayerNormEps;
        var attention = w.Scope("self_attn");
        _query = new LinearLayer(attention.Scope("q_proj"), hidden, hidden);
        _key = new LinearLayer(attention.Scope("k_proj"), hidden, hidden);
        _value = new LinearLayer(attention.Scope("v_proj"), hidden, hidden);
        _out = new LinearLayer(attention.Scope("out_proj"), hidden, hidden);
        _norm1 = new LayerNormLayer(w.Scope("layer_norm1"), hidden, eps);
        _fc1 = new LinearLayer(w.Scope("mlp").Scope("fc1"), hidden, config.IntermediateSize);
        _fc2 = new LinearLayer(w.Scope("mlp").Scope("fc2"), config.IntermediateSize, hidden);
        _norm2 = new LayerNormLayer(w.Scope("layer_norm2"), hidden, eps);
        _heads = config.NumAttentionHeads;
        _activation = config.Activation;
    }

    /// <summary>(B, L, hidden) → (B, L, hidden).</summary>
    public Tensor Forward(Backend ops, Tensor h)
    {
        using var attended = SelfAttentionBlock(ops, h);
        using var x = _norm2.Forward(ops, attended);
        using var inner = _fc1.Forward(ops, x, _activation);     // (B, L, intermediate)
        using var mlp = _fc2.Forward(ops, inner);
        return ops.Add(attended, mlp);
    }

    private Tensor SelfAttentionBlock(Backend ops, Tensor h)
    {
        using var x = _norm1.Forward(ops, h);
        using var q = _query.Forward(ops, x);                    // (B, L, heads·head_dim), heads packed
        using var k = _key.Forward(ops, x);
        using var v = _value.Forward(ops, x);
        // transformers scales q by head_dim^-0.5 before q·kᵀ; the op applies the same factor to the product.
        using var a = ops.Attention(q, k, v, _heads, causal: true);
        using var o = _out.Forward(ops, a);
        return ops.Add(h, o);
    }
}
