using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' UpBlock2D, and CrossAttnUpBlock2D when the spec has cross-attention: each resnet takes the running
/// state concatenated with the newest skip connection, then an Upsample2D except in the last block.
/// </summary>
public sealed class UNetUpBlock
{
    private readonly ResnetBlock2D[] _resnets;
    private readonly Transformer2DModel[]? _attentions;
    private readonly Upsample2D? _upsampler;

    public UNetUpBlock(WeightScope w, UNetBlockSpec spec, UNet2DConditionConfig config, ResnetTimeProjections timeProjections)
    {
        var resnets = w.Scope("resnets");
        _resnets = Enumerable.Range(0, spec.Layers).Select(i =>
        {
            int skipChannels = i == spec.Layers - 1 ? spec.InChannels : spec.OutChannels;
            int stateChannels = i == 0 ? spec.PrevOutputChannels : spec.OutChannels;
            return new ResnetBlock2D(resnets.Scope(i), stateChannels + skipChannels, spec.OutChannels, timeProjections,
                config.NormGroups, config.NormEps, config.ResnetOutScaleFactor);
        }).ToArray();
        if (spec.HasCrossAttention) _attentions = Transformer2DModel.ForBlock(w, spec, config, spec.Layers);
        if (spec.HasSampler) _upsampler = new Upsample2D(w.Scope("upsamplers").Scope(0), spec.OutChannels);
    }

    /// <param name="x">(B, C_prev, H, W), the caller's.</param>
    /// <param name="skips">The down path's outputs; this block pops (and frees) one per resnet. The upsampler then
    /// matches the size of the next skip, which is 2× except after a downsampling of an odd size.</param>
    /// <returns>(B, C_out, H', W'), owned by the caller.</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor timeProjections, CrossAttentionContext context, Stack<Tensor> skips)
    {
        using var h = new TensorChain(x);
        for (int i = 0; i < _resnets.Length; i++)
        {
            using (var skip = skips.Pop())
            using (var joined = ops.Concat(h.Current, skip))                    // (B, C + C_skip, H, W)
                h.Advance(_resnets[i].Forward(ops, joined, timeProjections));   // (B, C_out, H, W)
            if (_attentions is not null) h.Advance(_attentions[i].Forward(ops, h.Current, context));
        }
        if (_upsampler is not null)
        {
            var next = skips.Peek().Shape;
            h.Advance(_upsampler.Forward(ops, h.Current, (next[2], next[3])));  // (B, C_out, H_skip, W_skip)
        }
        return h.Detach();
    }
}
