using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>diffusers' UNetMidBlock2DCrossAttn: resnet, then (transformer, resnet) at the deepest resolution.</summary>
public sealed class UNetMidBlock2DCrossAttn
{
    private readonly ResnetBlock2D[] _resnets;
    private readonly Transformer2DModel[] _attentions;

    public UNetMidBlock2DCrossAttn(WeightScope w, UNetBlockSpec spec, UNet2DConditionConfig config, ResnetTimeProjections timeProjections)
    {
        var resnets = w.Scope("resnets");
        int c = spec.OutChannels;
        _resnets = Enumerable.Range(0, spec.Layers + 1).Select(i => new ResnetBlock2D(resnets.Scope(i), c, c, timeProjections,
            config.NormGroups, config.NormEps, config.MidBlockScaleFactor)).ToArray();
        _attentions = Transformer2DModel.ForBlock(w, spec, config, spec.Layers);
    }

    /// <param name="x">(B, C, H, W)</param>
    /// <returns>(B, C, H, W)</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor timeProjections, CrossAttentionContext context)
    {
        using var h = new TensorChain(x);
        h.Advance(_resnets[0].Forward(ops, h.Current, timeProjections));
        for (int i = 0; i < _attentions.Length; i++)
        {
            h.Advance(_attentions[i].Forward(ops, h.Current, context));
            h.Advance(_resnets[i + 1].Forward(ops, h.Current, timeProjections));
        }
        return h.Detach();
    }
}
