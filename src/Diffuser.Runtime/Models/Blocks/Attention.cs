using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Blocks;

/// <summary>
/// diffusers' Attention over token sequences: softmax(q·kᵀ/√d)·v per head with q = to_q(x), k = to_k(ctx),
/// v = to_v(ctx), then to_out.0. Heads stay packed in the last dimension ([B, L, heads·headDim]) as the projections
/// produce them. The projections that read the same input run as one GEMM: to_q, to_k and to_v of self-attention are
/// joined into one [3·inner, dim] weight when loaded (to_k and to_v of cross-attention into one [2·inner, ctx]), and the
/// attention kernel reads q, k and v from the packed result. The softmax always runs in fp32, so diffusers'
/// upcast_attention needs nothing extra.
/// </summary>
public sealed class Attention
{
    private static readonly string[] QueryKeyValue = ["to_q", "to_k", "to_v"], KeyValue = ["to_k", "to_v"];
    private readonly LinearLayer? _toQ;
    private readonly Tensor _packedWeight;
    private readonly Tensor? _packedBias;
    private readonly LinearLayer _toOut;
    private readonly int _heads;

    /// <param name="selfAttention">q, k and v all read the input (one fused projection); otherwise k and v read the context.</param>
    /// <param name="contextDim">Width of the context for cross-attention; equal to <paramref name="queryDim"/> for self-attention.</param>
    /// <param name="projectionBias">Whether to_q/to_k/to_v have biases (the VAE's do, the UNet's do not).</param>
    public Attention(WeightScope w, bool selfAttention, int queryDim, int contextDim, int heads, int headDim, bool projectionBias)
    {
        int inner = heads * headDim;
        if (!selfAttention) _toQ = new LinearLayer(w.Scope("to_q"), queryDim, inner, projectionBias);
        var packed = selfAttention ? QueryKeyValue : KeyValue;
        _packedWeight = w.GetConcatenated(packed, "weight", inner, selfAttention ? queryDim : contextDim);
        _packedBias = projectionBias ? w.GetConcatenated(packed, "bias", inner) : null;
        _toOut = new LinearLayer(w.Scope("to_out").Scope(0), inner, queryDim);
        _heads = heads;
    }

    /// <param name="x">(B, L, queryDim)</param>
    /// <param name="context">(B, S, contextDim) for cross-attention, which keeps this layer's k|v projection of it;
    /// null for self-attention (or cross-attention on x itself).</param>
    /// <param name="residual">(B, L, queryDim), added to the output in to_out's pass; null for none.</param>
    /// <returns>(B, L, queryDim)</returns>
    public Tensor Forward(Backend ops, Tensor x, CrossAttentionContext? context = null, Tensor? residual = null)
    {
        Tensor attended;
        if (_toQ is null)
        {
            using var qkv = ops.Linear(x, _packedWeight, _packedBias);             // (B, L, 3·heads·d)
            attended = ops.SelfAttention(qkv, _heads);                             // (B, L, heads·d)
        }
        else
        {
            using var q = _toQ.Forward(ops, x);                                    // (B, L, heads·d)
            using var own = context is null ? KeyValues(ops, x) : null;
            var kv = own ?? context!.Find(this) ?? context.Keep(this, KeyValues(ops, context.States));   // (B, S, 2·heads·d)
            attended = ops.CrossAttention(q, kv, _heads);
        }
        using (attended) return _toOut.Forward(ops, attended, residual: residual);
    }

    private Tensor KeyValues(Backend ops, Tensor source) => ops.Linear(source, _packedWeight, _packedBias);
}
