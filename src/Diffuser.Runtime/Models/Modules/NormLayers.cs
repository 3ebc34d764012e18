using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Modules;

/// <summary>torch.nn.GroupNorm with affine weight and bias [channels].</summary>
public sealed class GroupNormLayer(WeightScope w, int groups, int channels, float epsilon)
{
    public Tensor Weight { get; } = w.Get("weight", channels);
    public Tensor Bias { get; } = w.Get("bias", channels);
    public int Groups { get; } = groups;
    public float Epsilon { get; } = epsilon;

    /// <param name="forConvolution">The result is read only as a convolution's input (stored as the backend's convolution reads it fastest).</param>
    public Tensor Forward(Backend ops, Tensor x, bool silu = false, bool forConvolution = false) =>
        ops.GroupNorm(x, Groups, Weight, Bias, Epsilon, silu, forConvolution);
}

/// <summary>torch.nn.LayerNorm over the last dimension, weight and bias [features].</summary>
public sealed class LayerNormLayer(WeightScope w, int features, float epsilon)
{
    public Tensor Weight { get; } = w.Get("weight", features);
    public Tensor Bias { get; } = w.Get("bias", features);
    public float Epsilon { get; } = epsilon;

    public Tensor Forward(Backend ops, Tensor x) => ops.LayerNorm(x, Weight, Bias, Epsilon);
}
