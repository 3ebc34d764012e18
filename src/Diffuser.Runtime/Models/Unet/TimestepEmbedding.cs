using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>diffusers' TimestepEmbedding MLP: linear_2(silu(linear_1(x))), the SiLU fused into linear_1.</summary>
public sealed class TimestepEmbedding(WeightScope w, int inChannels, int embedDim)
{
    private readonly LinearLayer _linear1 = new(w.Scope("linear_1"), inChannels, embedDim);
    private readonly LinearLayer _linear2 = new(w.Scope("linear_2"), embedDim, embedDim);

    /// <summary>Storage of the MLP's weights (its input must match).</summary>
    public DType DType => _linear1.Weight.DType;

    /// <summary>(B, in) → (B, embed).</summary>
    public Tensor Forward(Backend ops, Tensor x)
    {
        using var hidden = _linear1.Forward(ops, x, Activation.Silu);
        return _linear2.Forward(ops, hidden);
    }
}
