using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.Resample;
using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

/// <summary>Every op runs its managed fp32 implementation inside an <see cref="Fp32Scope"/> (a no-op for fp32 tensors).</summary>
public sealed partial class CpuBackend
{
    protected override void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape)
    {
        using var f = new Fp32Scope(c);
        GemmManaged.Run(f.In(a), f.In(b), f.In(bias), f.In(residual), f.Out, shape);
    }

    protected override void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape)
    {
        using var f = new Fp32Scope(y);
        Conv2dManaged.Run(f.In(x), f.In(weight), f.In(bias), f.In(sampleBias), f.In(residual), f.Out, shape);
    }

    protected override void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape)
    {
        using var f = new Fp32Scope(y);
        NormManaged.GroupNorm(f.In(x), f.In(gamma), f.In(beta), f.Out, shape);
    }

    protected override void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape)
    {
        using var f = new Fp32Scope(y);
        NormManaged.LayerNorm(f.In(x), f.In(gamma), f.In(beta), f.Out, shape);
    }

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape)
    {
        using var f = new Fp32Scope(y);
        AttentionManaged.Run(f.In(q), f.In(k), f.In(v), f.Out, shape);
    }

    protected override void SoftmaxCore(Tensor x, Tensor y, int rows, int cols)
    {
        using var f = new Fp32Scope(y);
        AttentionManaged.RowSoftmax(f.In(x), f.Out, rows, cols);
    }

    protected override void ActivateCore(Tensor x, Tensor y, ActivationKind kind)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Activate(f.In(x), f.Out, kind);
    }

    protected override void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Binary(f.In(a), f.In(b), f.Out, op);
    }

    protected override void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Affine(f.In(x), f.Out, scale, shift, min, max);
    }

    protected override void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.AddChannelBias(f.In(x), f.In(bias), f.Out, channels, spatial, biasBatchStride);
    }

    protected override void GegluCore(Tensor x, Tensor y, int half)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Geglu(f.In(x), f.Out, half);
    }

    protected override void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Concat(f.In(a), f.In(b), f.Out, outer, innerA, innerB);
    }

    protected override void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Narrow(f.In(x), f.Out, outer, sourceInner, start, length);
    }

    protected override void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols)
    {
        using var f = new Fp32Scope(y);
        ElementwiseManaged.Transpose(f.In(x), f.Out, batch, rows, cols);
    }

    protected override void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth)
    {
        using var f = new Fp32Scope(y);
        ResampleManaged.UpsampleNearest(f.In(x), f.Out, planes, height, width, outHeight, outWidth);
    }

    protected override void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width)
    {
        using var f = new Fp32Scope(y);
        ResampleManaged.AvgPool2x2(f.In(x), f.Out, planes, height, width);
    }

    protected override void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale, int maxPeriod) =>
        EmbeddingManaged.Timestep(timesteps, Data(y).Span, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod);

    protected override void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden)
    {
        using var f = new Fp32Scope(y);
        EmbeddingManaged.Token(ids, f.In(table).Span, f.In(positions).Span, f.Out.Span, length, hidden);
    }
}
