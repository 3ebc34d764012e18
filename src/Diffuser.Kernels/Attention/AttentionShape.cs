namespace Diffuser.Kernels.Attention;

/// <summary>
/// Multi-head attention, heads packed in the feature dimension as the projections produce them:
/// q [B, L, H·D], k and v [B, S, H·D], out [B, L, H·D]. out = softmax(scale · q·kᵀ [+ causal mask]) · v per head.
/// </summary>
public readonly record struct AttentionShape(int Batch, int Heads, int QueryLength, int KeyLength, int HeadDim, float Scale, int Causal)
{
    public int Width => Heads * HeadDim;
    public long Flops => 4L * Batch * Heads * QueryLength * KeyLength * HeadDim;
}
