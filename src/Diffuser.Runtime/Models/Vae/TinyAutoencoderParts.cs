using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Vae;

/// <summary>diffusers' AutoencoderTinyBlock: act(conv(act(conv(act(conv(x))))) + skip(x)) with 3×3 convs; ReLU fuses the sum.</summary>
public sealed class AutoencoderTinyBlock
{
    private readonly Conv2dLayer _conv0, _conv2, _conv4;
    private readonly Conv2dLayer? _skip;
    private readonly Activation _act;

    public AutoencoderTinyBlock(WeightScope w, int inChannels, int outChannels, Activation act)
    {
        var conv = w.Scope("conv");
        _conv0 = new Conv2dLayer(conv.Scope(0), inChannels, outChannels, 3, padding: 1);
        _conv2 = new Conv2dLayer(conv.Scope(2), outChannels, outChannels, 3, padding: 1);
        _conv4 = new Conv2dLayer(conv.Scope(4), outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) _skip = new Conv2dLayer(w.Scope("skip"), inChannels, outChannels, 1, bias: false);
        _act = act;
    }

    /// <summary>(B, C_in, H, W) → (B, C_out, H, W).</summary>
    public Tensor Forward(Backend ops, Tensor x)
    {
        using var h = new TensorChain(x);
        h.Advance(_conv0.Forward(ops, h.Current));
        h.Advance(ops.Activate(h.Current, _act));
        h.Advance(_conv2.Forward(ops, h.Current));
        h.Advance(ops.Activate(h.Current, _act));
        using var skip = _skip?.Forward(ops, x);
        h.Advance(_conv4.Forward(ops, h.Current, residual: skip ?? x));   // conv(x) + skip(x)
        h.Advance(ops.Activate(h.Current, Activation.Relu));              // fuse = ReLU
        return h.Detach();
    }
}

/// <summary>
/// One entry of TAESD's <c>nn.Sequential</c> (the weight names are <c>layers.&lt;index&gt;</c>): a conv, an
/// activation, a tiny block or a nearest upsampling.
/// </summary>
internal abstract record TinyLayer
{
    public abstract Tensor Forward(Backend ops, Tensor x);

    public sealed record Conv(Conv2dLayer Layer) : TinyLayer
    {
        public override Tensor Forward(Backend ops, Tensor x) => Layer.Forward(ops, x);
    }

    public sealed record Act(Activation Activation) : TinyLayer
    {
        public override Tensor Forward(Backend ops, Tensor x) => ops.Activate(x, Activation);
    }

    public sealed record Block(AutoencoderTinyBlock Layer) : TinyLayer
    {
        public override Tensor Forward(Backend ops, Tensor x) => Layer.Forward(ops, x);
    }

    public sealed record Upsample(int Factor) : TinyLayer
    {
        public override Tensor Forward(Backend ops, Tensor x) => ops.UpsampleNearest(x, x.Shape[2] * Factor, x.Shape[3] * Factor);
    }

    /// <summary>
    /// Runs the layers in order, freeing each intermediate; a 2× upsampling and the conv after it (the decoder's) run
    /// as one op, the conv reading its input upsampled.
    /// </summary>
    public static Tensor Run(Backend ops, IReadOnlyList<TinyLayer> layers, Tensor x)
    {
        using var h = new TensorChain(x);
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is Upsample { Factor: 2 } && i + 1 < layers.Count && layers[i + 1] is Conv next)
            {
                h.Advance(next.Layer.ForwardUpsampled(ops, h.Current));
                i++;
            }
            else h.Advance(layers[i].Forward(ops, h.Current));
        }
        return h.Detach();
    }
}

/// <summary>
/// Builds TAESD's encoder and decoder layer lists exactly as diffusers' EncoderTiny / DecoderTiny number them.
/// </summary>
internal static class TinyLayers
{
    /// <summary>conv(in→C0), blocks; then per level a stride-2 conv without bias and its blocks; conv to the latents.</summary>
    public static List<TinyLayer> Encoder(WeightScope w, AutoencoderTinyConfig c)
    {
        var layers = new List<TinyLayer>();
        var channels = c.EncoderBlockOutChannels;
        var act = c.Activation;
        for (int i = 0; i < channels.Length; i++)
        {
            var scope = w.Scope(layers.Count);
            layers.Add(new TinyLayer.Conv(i == 0
                ? new Conv2dLayer(scope, c.InChannels, channels[0], 3, padding: 1)
                : new Conv2dLayer(scope, channels[i - 1], channels[i], 3, stride: 2, padding: 1, bias: false)));
            for (int b = 0; b < c.NumEncoderBlocks[i]; b++)
                layers.Add(new TinyLayer.Block(new AutoencoderTinyBlock(w.Scope(layers.Count), channels[i], channels[i], act)));
        }
        layers.Add(new TinyLayer.Conv(new Conv2dLayer(w.Scope(layers.Count), channels[^1], c.LatentChannels, 3, padding: 1)));
        return layers;
    }

    /// <summary>conv(latents→C0), act; per level its blocks, then (except the last) nearest upsampling and a conv
    /// without bias; the last level's conv (with bias) maps to the image.</summary>
    public static List<TinyLayer> Decoder(WeightScope w, AutoencoderTinyConfig c)
    {
        var channels = c.DecoderBlockOutChannels;
        var act = c.Activation;
        var layers = new List<TinyLayer>
        {
            new TinyLayer.Conv(new Conv2dLayer(w.Scope(0), c.LatentChannels, channels[0], 3, padding: 1)),
            new TinyLayer.Act(act),
        };
        for (int i = 0; i < channels.Length; i++)
        {
            bool last = i == channels.Length - 1;
            for (int b = 0; b < c.NumDecoderBlocks[i]; b++)
                layers.Add(new TinyLayer.Block(new AutoencoderTinyBlock(w.Scope(layers.Count), channels[i], channels[i], act)));
            if (!last) layers.Add(new TinyLayer.Upsample(c.UpsamplingScalingFactor));
            int outChannels = last ? c.OutChannels : channels[i + 1];
            layers.Add(new TinyLayer.Conv(new Conv2dLayer(w.Scope(layers.Count), channels[i], outChannels, 3, padding: 1, bias: last)));
        }
        return layers;
    }
}
