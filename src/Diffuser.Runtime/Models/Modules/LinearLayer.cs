using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Modules;

/// <summary>torch.nn.Linear: weight [out, in], optional bias [out]. The tensors belong to the model's WeightSet.</summary>
public sealed class LinearLayer
{
    public LinearLayer(WeightScope w, int inFeatures, int outFeatures, bool bias = true)
        : this(w.Get("weight", outFeatures, inFeatures), bias ? w.Get("bias", outFeatures) : null) { }

    private LinearLayer(Tensor weight, Tensor? bias)
    {
        Weight = weight;
        Bias = bias;
    }

    /// <summary>A 1×1 torch.nn.Conv2d (weight [out, in, 1, 1], bias [out]) as the Linear it is: its weight viewed as [out, in].</summary>
    public static LinearLayer FromConv1x1(WeightScope w, int inFeatures, int outFeatures) =>
        new(w.Get("weight", outFeatures, inFeatures, 1, 1).Reshape(outFeatures, inFeatures), w.Get("bias", outFeatures));

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public int InFeatures => Weight.Shape[1];
    public int OutFeatures => Weight.Shape[0];

    /// <summary>act(x·Wᵀ + b) + residual, in one pass.</summary>
    public Tensor Forward(Backend ops, Tensor x, Activation activation = Activation.None, Tensor? residual = null) =>
        ops.Linear(x, Weight, Bias, activation, residual);

    /// <summary>The GEGLU projection: [value | gate] = x·Wᵀ + b, returns value · gelu(gate) without storing the product.</summary>
    public Tensor ForwardGeglu(Backend ops, Tensor x) => ops.GegluLinear(x, Weight, Bias);
}
