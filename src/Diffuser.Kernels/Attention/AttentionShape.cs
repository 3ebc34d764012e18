namespace Diffuser.Kernels.Attention;

/// <summary>
/// Multi-head attention, heads packed in the feature dimension as the projections produce them:
/// q [B, L, H·D], k and v [B, S, H·D], out [B, L, H·D]. out = softmax(scale · q·kᵀ [+ causal mask]) · v per head.
/// q, k and v may be column ranges of wider rows (a fused projection: self-attention's [B, L, 3·H·D] q|k|v, or
/// cross-attention's [B, S, 2·H·D] k|v): element (b, l, c) of q is at (b·L + l)·<see cref="QueryStride"/> +
/// <see cref="QueryOffset"/> + c, and likewise for k and v with <see cref="KeyStride"/>. The output is always dense.
/// </summary>
public readonly record struct AttentionShape(int Batch, int Heads, int QueryLength, int KeyLength, int HeadDim, float Scale, int Causal)
{
    public int Width => Heads * HeadDim;

    /// <summary>Elements between consecutive query rows (the width of the tensor q lives in).</summary>
    public int QueryStride { get; init; } = Heads * HeadDim;

    /// <summary>Elements between consecutive key (and value) rows.</summary>
    public int KeyStride { get; init; } = Heads * HeadDim;

    public int QueryOffset { get; init; }
    public int KeyOffset { get; init; }
    public int ValueOffset { get; init; }

    /// <summary>Query–key pairs per head that take part: all of them, or those on or before the diagonal when causal.</summary>
    public long VisiblePairs => Causal != 0
        ? Math.Max((long)QueryLength * KeyLength - (long)QueryLength * (QueryLength - 1) / 2, 0)
        : (long)QueryLength * KeyLength;
    /// <summary>q·kᵀ and p·v: 2·D multiply-adds per visible pair (softmax not counted).</summary>
    public long Flops => 4L * Batch * Heads * VisiblePairs * HeadDim;
}
