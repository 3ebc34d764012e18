using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' VAE Decoder: conv_in, the mid block, UpDecoderBlock2Ds (layers_per_block + 1 resnets, then nearest 2×
/// and a conv, except the last) over the channels in reverse, GroupNorm + SiLU and conv_out to the image.
/// </summary>
public sealed class VaeDecoder
{
    private readonly Conv2dLayer _convIn, _convOut;
    private readonly VaeMidBlock _mid;
    private readonly (ResnetBlock2D[] Resnets, Upsample2D? Upsampler)[] _up;
    private readonly GroupNormLayer _convNormOut;

    public VaeDecoder(WeightScope w, AutoencoderKLConfig config)
    {
        var reversed = config.BlockOutChannels!.Reverse().ToArray();
        int groups = config.NormNumGroups;
        float eps = VaeEncoder.Epsilon;
        _convIn = new Conv2dLayer(w.Scope("conv_in"), config.LatentChannels, reversed[0], 3, padding: 1);
        _mid = new VaeMidBlock(w.Scope("mid_block"), reversed[0], groups, eps, config.MidBlockAddAttention);
        _up = new (ResnetBlock2D[], Upsample2D?)[reversed.Length];
        for (int i = 0; i < reversed.Length; i++)
        {
            var block = w.Scope("up_blocks").Scope(i);
            int inChannels = i == 0 ? reversed[0] : reversed[i - 1], outChannels = reversed[i];
            var resnets = Enumerable.Range(0, config.LayersPerBlock + 1).Select(j => new ResnetBlock2D(block.Scope("resnets").Scope(j),
                j == 0 ? inChannels : outChannels, outChannels, null, groups, eps)).ToArray();
            var upsampler = i < reversed.Length - 1 ? new Upsample2D(block.Scope("upsamplers").Scope(0), outChannels) : null;
            _up[i] = (resnets, upsampler);
        }
        _convNormOut = new GroupNormLayer(w.Scope("conv_norm_out"), groups, reversed[^1], eps);
        _convOut = new Conv2dLayer(w.Scope("conv_out"), reversed[^1], config.OutChannels, 3, padding: 1);
    }

    /// <summary>(B, latent_channels, h, w) → (B, out_channels, h·f, w·f); hook names as diffusers' decoder modules.</summary>
    public Tensor Forward(Backend ops, Tensor latents, ForwardHook? hook)
    {
        using var h = new TensorChain(latents);
        h.Advance(_convIn.Forward(ops, h.Current));                     // (B, C_last, h, w)
        hook?.Invoke("decoder.conv_in", h.Current);
        h.Advance(_mid.Forward(ops, h.Current));
        hook?.Invoke("decoder.mid_block", h.Current);
        for (int i = 0; i < _up.Length; i++)
        {
            foreach (var resnet in _up[i].Resnets) h.Advance(resnet.Forward(ops, h.Current, null));
            if (_up[i].Upsampler is { } upsampler) h.Advance(upsampler.Forward(ops, h.Current));  // (B, C_i, 2h, 2w)
            hook?.Invoke($"decoder.up_blocks.{i}", h.Current);
        }
        h.Advance(_convNormOut.Forward(ops, h.Current, silu: true, forConvolution: true));
        hook?.Invoke("decoder.conv_act", h.Current);
        return _convOut.Forward(ops, h.Current);                        // (B, out_channels, H, W)
    }
}
