namespace Diffuser.Kernels.Norm;

/// <summary>Group norm over x [N, C, Spatial]: C/Groups channels per group share one mean and variance.</summary>
public readonly record struct GroupNormShape(int N, int C, int Spatial, int Groups, float Epsilon, int FuseSilu)
{
    public int ChannelsPerGroup => C / Groups;
    /// <summary>Elements normalised together: channels per group × spatial size.</summary>
    public int GroupLength => ChannelsPerGroup * Spatial;
    /// <summary>Nominal arithmetic: 8 per element (statistics, normalisation and the affine; SiLU not counted).</summary>
    public long Flops => 8L * N * C * Spatial;
}

/// <summary>Layer norm over the last dimension of x [Rows, Features].</summary>
public readonly record struct LayerNormShape(int Rows, int Features, float Epsilon)
{
    /// <summary>Nominal arithmetic: 8 per element, as for <see cref="GroupNormShape.Flops"/>.</summary>
    public long Flops => 8L * Rows * Features;
}
