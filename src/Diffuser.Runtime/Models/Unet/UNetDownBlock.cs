using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' DownBlock2D, and CrossAttnDownBlock2D when the spec has cross-attention (a Transformer2DModel after
/// every resnet): resnets at one resolution, then a stride-2 Downsample2D except in the deepest block. Every
/// intermediate output is kept as a skip connection for the up path.
/// </summary>
public sealed class UNetDownBlock
{
    private readonly ResnetBlock2D[] _resnets;
    private readonly Transformer2DModel[]? _attentions;
    private readonly Downsample2D? _downsampler;

    public UNetDownBlock(WeightScope w, UNetBlockSpec spec, UNet2DConditionConfig config, ResnetTimeProjections timeProjections)
    {
        var resnets = w.Scope("resnets");
        _resnets = Enumerable.Range(0, spec.Layers).Select(i => new ResnetBlock2D(resnets.Scope(i),
            i == 0 ? spec.InChannels : spec.OutChannels, spec.OutChannels, timeProjections, config.NormGroups, config.NormEps,
            config.ResnetOutScaleFactor)).ToArray();
        if (spec.HasCrossAttention) _attentions = Transformer2DModel.ForBlock(w, spec, config, spec.Layers);
        if (spec.HasSampler) _downsampler = new Downsample2D(w.Scope("downsamplers").Scope(0), spec.OutChannels, config.DownsamplePadding);
    }

    /// <summary>Number of skip tensors this block pushes.</summary>
    public int SkipCount => _resnets.Length + (_downsampler is null ? 0 : 1);

    /// <param name="x">(B, C_in, H, W), the caller's.</param>
    /// <param name="skips">Receives every output (the stack owns them).</param>
    /// <returns>(B, C_out, H', W'): the last skip pushed (owned by <paramref name="skips"/>, not by the caller).</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor timeProjections, CrossAttentionContext context, Stack<Tensor> skips)
    {
        var h = x;
        for (int i = 0; i < _resnets.Length; i++)
        {
            var r = _resnets[i].Forward(ops, h, timeProjections);               // (B, C_out, H, W)
            if (_attentions is null) h = r;
            else using (r) h = _attentions[i].Forward(ops, r, context);
            skips.Push(h);
        }
        if (_downsampler is not null)
        {
            h = _downsampler.Forward(ops, h);                                   // (B, C_out, H/2, W/2)
            skips.Push(h);
        }
        return h;
    }
}
