using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' VAE Encoder: conv_in, DownEncoderBlock2Ds (resnets, then a stride-2 conv padded on the right and
/// bottom, except the last), the mid block, GroupNorm + SiLU and conv_out to 2·latent_channels (mean | logvar).
/// </summary>
public sealed class VaeEncoder
{
    internal const float Epsilon = 1e-6f;
    private readonly Conv2dLayer _convIn, _convOut;
    private readonly (ResnetBlock2D[] Resnets, Downsample2D? Downsampler)[] _down;
    private readonly VaeMidBlock _mid;
    private readonly GroupNormLayer _convNormOut;

    public VaeEncoder(WeightScope w, AutoencoderKLConfig config)
    {
        var channels = config.BlockOutChannels!;
        int groups = config.NormNumGroups;
        _convIn = new Conv2dLayer(w.Scope("conv_in"), config.InChannels, channels[0], 3, padding: 1);
        _down = new (ResnetBlock2D[], Downsample2D?)[channels.Length];
        for (int i = 0; i < channels.Length; i++)
        {
            var block = w.Scope("down_blocks").Scope(i);
            int inChannels = i == 0 ? channels[0] : channels[i - 1], outChannels = channels[i];
            var resnets = Enumerable.Range(0, config.LayersPerBlock).Select(j => new ResnetBlock2D(block.Scope("resnets").Scope(j),
                j == 0 ? inChannels : outChannels, outChannels, null, groups, Epsilon)).ToArray();
            var downsampler = i < channels.Length - 1 ? new Downsample2D(block.Scope("downsamplers").Scope(0), outChannels, padding: 0) : null;
            _down[i] = (resnets, downsampler);
        }
        _mid = new VaeMidBlock(w.Scope("mid_block"), channels[^1], groups, Epsilon, config.MidBlockAddAttention);
        _convNormOut = new GroupNormLayer(w.Scope("conv_norm_out"), groups, channels[^1], Epsilon);
        _convOut = new Conv2dLayer(w.Scope("conv_out"), channels[^1], 2 * config.LatentChannels, 3, padding: 1);
    }

    /// <summary>(B, in_channels, H, W) → (B, 2·latent_channels, H/f, W/f).</summary>
    public Tensor Forward(Backend ops, Tensor image)
    {
        using var h = new TensorChain(image);
        h.Advance(_convIn.Forward(ops, h.Current));                     // (B, C0, H, W)
        foreach (var (resnets, downsampler) in _down)
        {
            foreach (var resnet in resnets) h.Advance(resnet.Forward(ops, h.Current, null));
            if (downsampler is not null) h.Advance(downsampler.Forward(ops, h.Current));  // (B, C_i, H/2, W/2)
        }
        h.Advance(_mid.Forward(ops, h.Current));
        h.Advance(_convNormOut.Forward(ops, h.Current, silu: true, forConvolution: true));
        return _convOut.Forward(ops, h.Current);
    }
}
