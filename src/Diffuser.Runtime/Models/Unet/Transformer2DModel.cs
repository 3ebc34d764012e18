using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' Transformer2DModel on continuous input: GroupNorm, proj_in (1×1 conv, or a Linear on tokens with
/// use_linear_projection), the image as H·W tokens through BasicTransformerBlocks, proj_out, plus the input. Either
/// projection kind is the same GEMM, which here also converts between the image and the token layout.
/// </summary>
public sealed class Transformer2DModel
{
    private const float NormEps = 1e-6f;
    private readonly GroupNormLayer _norm;
    private readonly LinearLayer _projIn, _projOut;   // Linear, or a 1×1 conv (use_linear_projection false) as a Linear
    private readonly BasicTransformerBlock[] _blocks;

    public Transformer2DModel(WeightScope w, int channels, int heads, int layers, int crossAttentionDim, int groups, bool linearProjection)
    {
        int headDim = channels / heads;
        _norm = new GroupNormLayer(w.Scope("norm"), groups, channels, NormEps);
        _projIn = Projection(w.Scope("proj_in"), channels, linearProjection);
        var blocks = w.Scope("transformer_blocks");
        _blocks = Enumerable.Range(0, layers).Select(i => new BasicTransformerBlock(blocks.Scope(i), channels, heads, headDim, crossAttentionDim)).ToArray();
        _projOut = Projection(w.Scope("proj_out"), channels, linearProjection);
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
    public Tensor Forward(Backend ops, Tensor x, CrossAttentionContext context)
    {
        int batch = x.Shape[0], channels = x.Shape[1], height = x.Shape[2], width = x.Shape[3];
        using var h = new TensorChain(x);
        h.Advance(_norm.Forward(ops, h.Current));                                  // (B, C, H, W)
        using (var planes = h.Current.Reshape(batch, channels, height * width))   // (B, C, H·W)
            h.Advance(ops.Gemm(planes, _projIn.Weight, transA: true, transB: true, bias: _projIn.Bias)); // (B, H·W, C): proj_in on the transposed image
        foreach (var block in _blocks) h.Advance(block.Forward(ops, h.Current, context));
        using var residual = x.Reshape(batch, channels, height * width);
        h.Advance(ops.Gemm(_projOut.Weight, h.Current, transB: true, bias: _projOut.Bias, residual: residual, biasPerRow: true));  // proj_outᵀ + x: (B, C, H·W)
        return h.Detach().Detach(x.Shape);
    }

    /// <summary>
    /// A projection (a Linear, or a 1×1 conv, whichever the checkpoint has) as its [out, in] matrix: both run as a GEMM
    /// that also moves the tokens between the image and the token layout, so no transpose is launched.
    /// </summary>
    private static LinearLayer Projection(WeightScope w, int channels, bool linear) =>
        linear ? new LinearLayer(w, channels, channels) : LinearLayer.FromConv1x1(w, channels, channels);
}
