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
/// activation, a tiny block, or two: a nearest upsampling and the conv after it.
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

    /// <summary>A nearest upsampling by <paramref name="Factor"/> and the conv after it (<see cref="Conv2dLayer.ForwardUpsampled"/>).</summary>
    public sealed record UpsampledConv(int Factor, Conv2dLayer Layer) : TinyLayer
    {
        public override Tensor Forward(Backend ops, Tensor x) => Layer.ForwardUpsampled(ops, x, x.Shape[2] * Factor, x.Shape[3] * Factor);
    }

    /// <summary>Runs the layers in order, freeing each intermediate.</summary>
    public static Tensor Run(Backend ops, IReadOnlyList<TinyLayer> layers, Tensor x)
    {
        using var h = new TensorChain(x);
        foreach (var layer in layers) h.Advance(layer.Forward(ops, h.Current));
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
        var layers = new List<TinyLayer>();
        int index = 0;   // the Sequential's: an upsampling and its conv are one layer here, two entries there
        void Add(TinyLayer layer, int entries = 1)
        {
            layers.Add(layer);
            index += entries;
        }
        Add(new TinyLayer.Conv(new Conv2dLayer(w.Scope(index), c.LatentChannels, channels[0], 3, padding: 1)));
        Add(new TinyLayer.Act(act));
        for (int i = 0; i < channels.Length; i++)
        {
            for (int b = 0; b < c.NumDecoderBlocks[i]; b++)
                Add(new TinyLayer.Block(new AutoencoderTinyBlock(w.Scope(index), channels[i], channels[i], act)));
            if (i == channels.Length - 1)
                Add(new TinyLayer.Conv(new Conv2dLayer(w.Scope(index), channels[i], c.OutChannels, 3, padding: 1)));
            else
                Add(new TinyLayer.UpsampledConv(c.UpsamplingScalingFactor,
                    new Conv2dLayer(w.Scope(index + 1), channels[i], channels[i + 1], 3, padding: 1, bias: false)), entries: 2);
        }
        return layers;
    }
}
