using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' Transformer2DModel on continuous input: GroupNorm, proj_in (1×1 conv, or a Linear on tokens with
/// use_linear_projection), the image as H·W tokens through BasicTransformerBlocks, proj_out, plus the input.
/// </summary>
public sealed class Transformer2DModel
{
    private const float NormEps = 1e-6f;
    private readonly GroupNormLayer _norm;
    private readonly Conv2dLayer? _projInConv, _projOutConv;
    private readonly LinearLayer? _projInLinear, _projOutLinear;
    private readonly BasicTransformerBlock[] _blocks;

    public Transformer2DModel(WeightScope w, int channels, int heads, int layers, int crossAttentionDim, int groups, bool linearProjection)
    {
        int headDim = channels / heads;
        _norm = new GroupNormLayer(w.Scope("norm"), groups, channels, NormEps);
        if (linearProjection) _projInLinear = new LinearLayer(w.Scope("proj_in"), channels, channels);
        else _projInConv = new Conv2dLayer(w.Scope("proj_in"), channels, channels, 1);
        var blocks = w.Scope("transformer_blocks");
        _blocks = Enumerable.Range(0, layers).Select(i => new BasicTransformerBlock(blocks.Scope(i), channels, heads, headDim, crossAttentionDim)).ToArray();
        if (linearProjection) _projOutLinear = new LinearLayer(w.Scope("proj_out"), channels, channels);
        else _projOutConv = new Conv2dLayer(w.Scope("proj_out"), channels, channels, 1);
    }

    /// <summary>A UNet block's transformers, <c>attentions.0</c> to <c>attentions.{count − 1}</c>.</summary>
    public static Transformer2DModel[] ForBlock(WeightScope block, UNetBlockSpec spec, UNet2DConditionConfig config, int count)
    {
        var attentions = block.Scope("attentions");
        return Enumerable.Range(0, count).Select(i => new Transformer2DModel(attentions.Scope(i), spec.OutChannels, spec.Heads,
            spec.TransformerLayers, spec.CrossAttentionDim, config.NormGroups, config.UseLinearProjection)).ToArray();
    }

    /// <param name="x">(B, C, H, W)</param>
    /// <param name="context">(B, S, cross_attention_dim)</param>
    /// <returns>(B, C, H, W)</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor context)
    {
        int height = x.Shape[2], width = x.Shape[3];
        using var h = new TensorChain(x);
        h.Advance(_norm.Forward(ops, h.Current));                              // (B, C, H, W)
        if (_projInConv is not null) h.Advance(_projInConv.Forward(ops, h.Current));
        h.Advance(ImageLayout.ToTokens(ops, h.Current));                       // (B, H·W, C)
        if (_projInLinear is not null) h.Advance(_projInLinear.Forward(ops, h.Current));
        foreach (var block in _blocks) h.Advance(block.Forward(ops, h.Current, context));
        if (_projOutLinear is not null)
        {
            h.Advance(_projOutLinear.Forward(ops, h.Current));
            h.Advance(ImageLayout.ToImage(ops, h.Current, height, width));     // (B, C, H, W)
            return ops.Add(h.Current, x);
        }
        h.Advance(ImageLayout.ToImage(ops, h.Current, height, width));
        return _projOutConv!.Forward(ops, h.Current, residual: x);             // proj_out(h) + x in one pass
    }
}
