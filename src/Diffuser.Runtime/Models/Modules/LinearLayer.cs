using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Modules;

/// <summary>torch.nn.Linear: weight [out, in], optional bias [out]. The tensors belong to the model's WeightSet.</summary>
public sealed class LinearLayer
{
    public LinearLayer(WeightScope w, int inFeatures, int outFeatures, bool bias = true)
    {
        Weight = w.Get("weight", outFeatures, inFeatures);
        Bias = bias ? w.Get("bias", outFeatures) : null;
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public int InFeatures => Weight.Shape[1];
    public int OutFeatures => Weight.Shape[0];

    public Tensor Forward(Backend ops, Tensor x, Activation activation = Activation.None) => ops.Linear(x, Weight, Bias, activation);
}
