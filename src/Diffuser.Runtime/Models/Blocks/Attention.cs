using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Blocks;

/// <summary>
/// diffusers' Attention over token sequences: softmax(q·kᵀ/√d)·v per head with q = to_q(x), k = to_k(ctx),
/// v = to_v(ctx), then to_out.0. Heads stay packed in the last dimension ([B, L, heads·headDim]) as the projections
/// produce them. The softmax always runs in fp32, so diffusers' upcast_attention needs nothing extra.
/// </summary>
public sealed class Attention
{
    private readonly LinearLayer _toQ, _toK, _toV, _toOut;
    private readonly int _heads;

    /// <param name="contextDim">Width of the context for cross-attention; equal to <paramref name="queryDim"/> for self-attention.</param>
    /// <param name="projectionBias">Whether to_q/to_k/to_v have biases (the VAE's do, the UNet's do not).</param>
    public Attention(WeightScope w, int queryDim, int contextDim, int heads, int headDim, bool projectionBias)
    {
        int inner = heads * headDim;
        _toQ = new LinearLayer(w.Scope("to_q"), queryDim, inner, projectionBias);
        _toK = new LinearLayer(w.Scope("to_k"), contextDim, inner, projectionBias);
        _toV = new LinearLayer(w.Scope("to_v"), contextDim, inner, projectionBias);
        _toOut = new LinearLayer(w.Scope("to_out").Scope(0), inner, queryDim);
        _heads = heads;
    }

    /// <param name="x">(B, L, queryDim)</param>
    /// <param name="context">(B, S, contextDim) for cross-attention, null for self-attention.</param>
    /// <returns>(B, L, queryDim)</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor? context = null)
    {
        using var q = _toQ.Forward(ops, x);                  // (B, L, heads·d)
        using var k = _toK.Forward(ops, context ?? x);       // (B, S, heads·d)
        using var v = _toV.Forward(ops, context ?? x);       // (B, S, heads·d)
        using var attended = ops.Attention(q, k, v, _heads); // (B, L, heads·d)
        return _toOut.Forward(ops, attended);
    }
}
