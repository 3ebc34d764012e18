using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.Resample;
using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

public sealed partial class CpuBackend
{
    protected override void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor c, GemmShape shape) =>
        GemmManaged.Run(Data(a), Data(b), DataOrEmpty(bias), Data(c), shape);

    protected override void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? residual, Tensor y, Conv2dShape shape) =>
        Conv2dManaged.Run(Data(x), Data(weight), DataOrEmpty(bias), DataOrEmpty(residual), Data(y), shape);

    protected override void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape) =>
        NormManaged.GroupNorm(Data(x), Data(gamma), Data(beta), Data(y), shape);

    protected override void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape) =>
        NormManaged.LayerNorm(Data(x), Data(gamma), Data(beta), Data(y), shape);

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape) =>
        AttentionManaged.Run(Data(q), Data(k), Data(v), Data(y), shape);

    protected override void ActivateCore(Tensor x, Tensor y, ActivationKind kind) =>
        ElementwiseManaged.Activate(Data(x), Data(y), kind);

    protected override void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op) =>
        ElementwiseManaged.Binary(Data(a), Data(b), Data(y), op);

    protected override void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max) =>
        ElementwiseManaged.Affine(Data(x), Data(y), scale, shift, min, max);

    protected override void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride) =>
        ElementwiseManaged.AddChannelBias(Data(x), Data(bias), Data(y), channels, spatial, biasBatchStride);

    protected override void GegluCore(Tensor x, Tensor y, int half) => ElementwiseManaged.Geglu(Data(x), Data(y), half);

    protected override void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB) =>
        ElementwiseManaged.Concat(Data(a), Data(b), Data(y), outer, innerA, innerB);

    protected override void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length) =>
        ElementwiseManaged.Narrow(Data(x), Data(y), outer, sourceInner, start, length);

    protected override void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols) =>
        ElementwiseManaged.Transpose(Data(x), Data(y), batch, rows, cols);

    protected override void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth) =>
        ResampleManaged.UpsampleNearest(Data(x), Data(y), planes, height, width, outHeight, outWidth);

    protected override void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width) =>
        ResampleManaged.AvgPool2x2(Data(x), Data(y), planes, height, width);

    protected override void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale, int maxPeriod) =>
        EmbeddingManaged.Timestep(timesteps, Data(y).Span, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod);

    protected override void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden) =>
        EmbeddingManaged.Token(ids, Data(table).Span, DataOrEmpty(positions).Span, Data(y).Span, length, hidden);
}
