using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Blocks;

/// <summary>
/// diffusers' ResnetBlock2D ("default" time-embedding norm):
/// y = (shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))) + time_emb_proj(silu(temb)))))) / output_scale_factor.
/// The shortcut is a 1×1 conv when the channel count changes. Without a time embedding (the VAE) the temb term is absent;
/// with one, the UNet computes every resnet's time_emb_proj at once (<see cref="ResnetTimeProjections"/>) and this
/// block's slice of them is added in conv1's pass, as the residual is in conv2's.
/// </summary>
public sealed class ResnetBlock2D
{
    private readonly GroupNormLayer _norm1, _norm2;
    private readonly Conv2dLayer _conv1, _conv2;
    private readonly int? _timeRow;
    private readonly Conv2dLayer? _convShortcut;
    private readonly float _outputScaleFactor;

    /// <param name="timeProjections">Where the block's time_emb_proj joins the other resnets' (the UNet's), or null for a block without a time embedding.</param>
    public ResnetBlock2D(WeightScope w, int inChannels, int outChannels, ResnetTimeProjections? timeProjections, int groups, float epsilon,
        float outputScaleFactor = 1f)
    {
        _norm1 = new GroupNormLayer(w.Scope("norm1"), groups, inChannels, epsilon);
        _conv1 = new Conv2dLayer(w.Scope("conv1"), inChannels, outChannels, 3, padding: 1);
        _timeRow = timeProjections?.Add(w.Scope("time_emb_proj"), outChannels);
        _norm2 = new GroupNormLayer(w.Scope("norm2"), groups, outChannels, epsilon);
        _conv2 = new Conv2dLayer(w.Scope("conv2"), outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) _convShortcut = new Conv2dLayer(w.Scope("conv_shortcut"), inChannels, outChannels, 1);
        _outputScaleFactor = outputScaleFactor;
    }

    public int OutChannels => _conv2.OutChannels;

    /// <param name="x">(B, C_in, H, W)</param>
    /// <param name="timeProjections">Every resnet's time_emb_proj(silu(temb)) (ΣC, B), computed once per step by the caller (<see cref="ResnetTimeProjections"/>); null without a time embedding.</param>
    /// <returns>(B, C_out, H, W)</returns>
    public Tensor Forward(Backend ops, Tensor x, Tensor? timeProjections)
    {
        using var h = new TensorChain(x);
        h.Advance(_norm1.Forward(ops, h.Current, silu: true, forConvolution: true));   // (B, C_in, H, W)
        using (var t = _timeRow is int row ? (timeProjections
            ?? throw new DiffuserException("ResnetBlock2D: this block needs a time embedding.")).Slice(row, OutChannels) : null)   // (C_out, B)
            h.Advance(_conv1.Forward(ops, h.Current, sampleBias: t));                               // (B, C_out, H, W) + temb

        h.Advance(_norm2.Forward(ops, h.Current, silu: true, forConvolution: true));
        using var shortcut = _convShortcut?.Forward(ops, x);             // (B, C_out, H, W)
        h.Advance(_conv2.Forward(ops, h.Current, residual: shortcut ?? x));
        if (_outputScaleFactor != 1f) h.Advance(ops.Affine(h.Current, 1f / _outputScaleFactor));
        return h.Detach();
    }
}
