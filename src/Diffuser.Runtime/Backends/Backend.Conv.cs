using Diffuser.Kernels.Conv;
using Diffuser.Kernels.TensorCore;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// 2-D convolution: x [N, C, H, W], weight [K, C, R, S] (or the same filters as <see cref="PackConv2dFilter"/>
    /// packed them), bias [K] → [N, K, OH, OW], plus in the same pass an optional bias per filter and sample
    /// <paramref name="sampleBias"/> [K, N] (filter-major: the UNet's time-embedding projection of a resnet, a row slice
    /// of every resnet's projections computed at once) and an optional <paramref name="residual"/> [N, K, OH, OW], added
    /// in that order. With <paramref name="upsample"/> the convolution reads x upsampled 2× by nearest neighbour
    /// (torch's interpolate(scale_factor=2, mode='nearest'), then this convolution, as one op that never writes the
    /// upsampled image): H and W above are then 2·H and 2·W of x.
    /// </summary>
    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride, Padding2d padding, Tensor? residual = null, Tensor? sampleBias = null,
        bool upsample = false)
    {
        var dtype = RequireSameDType("Conv2d", blockedInput: true, [x, weight, bias, sampleBias, residual]);
        if (x.Rank != 4) throw Shape("Conv2d", $"input must be [N, C, H, W], got {x.Shape}");
        var (r, s) = FilterSize(weight, x.Shape[1]);
        if (stride < 1) throw Shape("Conv2d", $"stride must be ≥ 1, got {stride}");
        int factor = upsample ? 2 : 1;
        var shape = Conv2dShape.Create(x.Shape[0], x.Shape[1], x.Shape[2] * factor, x.Shape[3] * factor, weight.Shape[0], r, s,
            stride, padding.Top, padding.Left, padding.Bottom, padding.Right, bias is not null, residual is not null)
            with { HasSampleBias = sampleBias is null ? 0 : 1, Upsample = upsample ? 1 : 0 };
        if (shape.OH < 1 || shape.OW < 1) throw Shape("Conv2d", $"input {x.Shape} is smaller than kernel {r}×{s} with padding {padding}");
        if (bias is not null) RequireShape("Conv2d bias", bias, shape.K);
        if (sampleBias is not null) RequireShape("Conv2d sample bias", sampleBias, shape.K, shape.N);
        if (residual is not null) RequireShape("Conv2d residual", residual, shape.N, shape.K, shape.OH, shape.OW);
        var y = Allocate(new TensorShape(shape.N, shape.K, shape.OH, shape.OW), dtype);
        using (Profile("conv2d", shape.Flops, y, x, weight, bias, sampleBias, residual)) Conv2dCore(x, weight, bias, sampleBias, residual, y, shape);
        return y;
    }

    /// <summary>
    /// Filters [K, C, R, S] in the layout this backend's <see cref="Conv2d"/> reads fastest, done once when a model
    /// loads: a new <see cref="TensorLayout.TapMajorFilter"/> tensor (the caller then frees <paramref name="weight"/>)
    /// where the fp16 tensor-core convolution takes these filters, otherwise <paramref name="weight"/> itself.
    /// </summary>
    public Tensor PackConv2dFilter(Tensor weight)
    {
        RequireOwn(weight);
        if (weight.Rank != 4 || weight.Layout != TensorLayout.Dense) throw Shape("PackConv2dFilter", $"filters must be dense [K, C, R, S], got {weight.Shape} {weight.Layout}");
        return PackConv2dFilterCore(weight);
    }

    /// <summary>Packs <paramref name="weight"/> (dense [K, C, R, S]) with <see cref="PackConv2dFilterInto"/>, or returns it.</summary>
    protected virtual Tensor PackConv2dFilterCore(Tensor weight) => weight;

    /// <summary>A new <see cref="TensorLayout.TapMajorFilter"/> tensor for <paramref name="weight"/>'s filters, filled by <paramref name="pack"/>.</summary>
    protected Tensor PackConv2dFilterInto(Tensor weight, Action<Tensor> pack)
    {
        var s = weight.Shape;
        var buffer = _pool.Rent((long)s[0] * TapMajorFilter.Depth(s[1], s[2] * s[3]), weight.DType);
        var packed = new Tensor(this, buffer, 0, new TensorShape(s[0], s[2], s[3], TapMajorFilter.Channels(s[1])), ownsBuffer: true) { Layout = TensorLayout.TapMajorFilter };
        pack(packed);
        return packed;
    }

    /// <summary>Filter rows and columns (R, S) of a dense [K, C, R, S] or packed [K, R, S, Cp] weight for <paramref name="channels"/> input channels.</summary>
    private static (int R, int S) FilterSize(Tensor weight, int channels)
    {
        if (weight.Layout == TensorLayout.TapMajorFilter)
            return weight.Rank == 4 && weight.Shape[3] == TapMajorFilter.Channels(channels) ? (weight.Shape[1], weight.Shape[2])
                : throw Shape("Conv2d", $"packed filter {weight.Shape} does not match {channels} input channels (expected [K, R, S, {TapMajorFilter.Channels(channels)}])");
        return weight.Rank == 4 && weight.Shape[1] == channels ? (weight.Shape[2], weight.Shape[3])
            : throw Shape("Conv2d", $"weight {weight.Shape} does not match {channels} input channels (expected [K, {channels}, R, S])");
    }

    protected abstract void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape);
}
