using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' UNetMidBlock2D as the VAE uses it: resnet, single-head self-attention over the H·W positions
/// (GroupNorm first, residual added), resnet. No time embedding.
/// </summary>
public sealed class VaeMidBlock
{
    private readonly ResnetBlock2D _resnet0, _resnet1;
    private readonly GroupNormLayer? _attentionNorm;
    private readonly Attention? _attention;

    public VaeMidBlock(WeightScope w, int channels, int groups, float epsilon, bool addAttention)
    {
        var resnets = w.Scope("resnets");
        _resnet0 = new ResnetBlock2D(resnets.Scope(0), channels, channels, null, groups, epsilon);
        if (addAttention)
        {
            var attention = w.Scope("attentions").Scope(0);
            _attentionNorm = new GroupNormLayer(attention.Scope("group_norm"), groups, channels, epsilon);
            // One head as wide as the channels (diffusers passes attention_head_dim = the block's channels).
            _attention = new Attention(attention, selfAttention: true, channels, channels, heads: 1, headDim: channels, projectionBias: true);
        }
        _resnet1 = new ResnetBlock2D(resnets.Scope(1), channels, channels, null, groups, epsilon);
    }

    /// <summary>(B, C, H, W) → (B, C, H, W).</summary>
    public Tensor Forward(Backend ops, Tensor x)
    {
        using var h = new TensorChain(x);
        h.Advance(_resnet0.Forward(ops, h.Current, null));
        if (_attention is not null) h.Advance(SelfAttention(ops, h.Current));
        h.Advance(_resnet1.Forward(ops, h.Current, null));
        return h.Detach();
    }

    /// <summary>x + attention(group_norm(x)) with the image as H·W tokens of C channels.</summary>
    private Tensor SelfAttention(Backend ops, Tensor x)
    {
        int height = x.Shape[2], width = x.Shape[3];
        using var normed = _attentionNorm!.Forward(ops, x);                  // (B, C, H, W)
        using var tokens = ImageLayout.ToTokens(ops, normed);                // (B, H·W, C)
        using var attended = _attention!.Forward(ops, tokens);               // (B, H·W, C)
        using var image = ImageLayout.ToImage(ops, attended, height, width); // (B, C, H, W)
        return ops.Add(image, x);
    }
}
