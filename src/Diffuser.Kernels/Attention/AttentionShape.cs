namespace Diffuser.Kernels.Attention;

/// <summary>
/// Multi-head attention, heads packed in the feature dimension as the projections produce them:
/// q [B, L, H·D], k and v [B, S, H·D], out [B, L, H·D]. out = softmax(scale · q·kᵀ [+ causal mask]) · v per head.
/// </summary>
public readonly record struct AttentionShape(int Batch, int Heads, int QueryLength, int KeyLength, int HeadDim, float Scale, int Causal)
{
    public int Width => Heads * HeadDim;
    /// <summary>Query–key pairs per head that take part: all of them, or those on or before the diagonal when causal.</summary>
    public long VisiblePairs => Causal != 0
        ? Math.Max((long)QueryLength * KeyLength - (long)QueryLength * (QueryLength - 1) / 2, 0)
        : (long)QueryLength * KeyLength;
    /// <summary>q·kᵀ and p·v: 2·D multiply-adds per visible pair (softmax not counted).</summary>
    public long Flops => 4L * Batch * Heads * VisiblePairs * HeadDim;
}
