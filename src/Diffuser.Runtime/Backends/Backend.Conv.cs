using Diffuser.Kernels.Conv;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// 2-D convolution: x [N, C, H, W], weight [K, C, R, S], bias [K] → [N, K, OH, OW], plus in the same pass an
    /// optional per-sample channel bias <paramref name="sampleBias"/> [N, K] (the UNet's time embedding) and an optional
    /// <paramref name="residual"/> [N, K, OH, OW], added in that order.
    /// </summary>
    public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride, Padding2d padding, Tensor? residual = null, Tensor? sampleBias = null)
    {
        var dtype = RequireSameDType("Conv2d", x, weight, bias, sampleBias, residual);
        if (x.Rank != 4) throw Shape("Conv2d", $"input must be [N, C, H, W], got {x.Shape}");
        if (weight.Rank != 4 || weight.Shape[1] != x.Shape[1])
            throw Shape("Conv2d", $"weight {weight.Shape} does not match input {x.Shape} (expected [K, {x.Shape[1]}, R, S])");
        if (stride < 1) throw Shape("Conv2d", $"stride must be ≥ 1, got {stride}");
        var s = Conv2dShape.Create(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[0], weight.Shape[2], weight.Shape[3],
            stride, padding.Top, padding.Left, padding.Bottom, padding.Right, bias is not null, residual is not null) with { HasSampleBias = sampleBias is null ? 0 : 1 };
        if (s.OH < 1 || s.OW < 1) throw Shape("Conv2d", $"input {x.Shape} is smaller than kernel {weight.Shape} with padding {padding}");
        if (bias is not null) RequireShape("Conv2d bias", bias, s.K);
        if (sampleBias is not null) RequireShape("Conv2d sample bias", sampleBias, s.N, s.K);
        if (residual is not null) RequireShape("Conv2d residual", residual, s.N, s.K, s.OH, s.OW);
        var y = Allocate(new TensorShape(s.N, s.K, s.OH, s.OW), dtype);
        using (Profile("conv2d", s.Flops, y, x, weight, bias, sampleBias, residual)) Conv2dCore(x, weight, bias, sampleBias, residual, y, s);
        return y;
    }

    protected abstract void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape);
}
