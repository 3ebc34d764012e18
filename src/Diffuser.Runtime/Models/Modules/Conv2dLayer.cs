using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Modules;

/// <summary>
/// torch.nn.Conv2d with square kernel, stride and padding: weight [out, in, k, k] (packed at load where the backend's
/// convolution reads another layout, <see cref="Backend.PackConv2dFilter"/>), optional bias.
/// </summary>
public sealed class Conv2dLayer
{
    public Conv2dLayer(WeightScope w, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
        : this(w, inChannels, outChannels, kernel, stride, Padding2d.Same(padding), bias) { }

    public Conv2dLayer(WeightScope w, int inChannels, int outChannels, int kernel, int stride, Padding2d padding, bool bias = true)
    {
        Weight = w.GetConv2dFilter("weight", outChannels, inChannels, kernel, kernel);
        Bias = bias ? w.Get("bias", outChannels) : null;
        Stride = stride;
        Padding = padding;
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public int Stride { get; }
    public Padding2d Padding { get; }
    public int OutChannels => Weight.Shape[0];

    /// <summary>conv(x) [+ a bias per filter and sample (C_out, B)] [+ residual], all in the same pass.</summary>
    public Tensor Forward(Backend ops, Tensor x, Tensor? residual = null, Tensor? sampleBias = null) =>
        ops.Conv2d(x, Weight, Bias, Stride, Padding, residual, sampleBias);

    /// <summary>
    /// conv(x resized to <paramref name="height"/> × <paramref name="width"/> by nearest neighbour); at exactly 2× one
    /// op that never writes the resized image (the convolution reads its input upsampled).
    /// </summary>
    public Tensor ForwardUpsampled(Backend ops, Tensor x, int height, int width)
    {
        if (height == 2 * x.Shape[2] && width == 2 * x.Shape[3]) return ops.Conv2d(x, Weight, Bias, Stride, Padding, upsample: true);
        using var upsampled = ops.UpsampleNearest(x, height, width);
        return Forward(ops, upsampled);
    }
}
