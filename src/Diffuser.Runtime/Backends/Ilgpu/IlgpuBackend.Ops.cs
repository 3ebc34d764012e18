using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Tensors;

namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// Every op runs the kernel set of its output's dtype (the public ops made sure all its tensors share it), but for the
/// two mixed ones of composed attention: an fp32 product of fp16 operands, and fp16 probabilities of fp32 scores.
/// </summary>
public sealed partial class IlgpuBackend
{
    /// <summary>
    /// An fp32 product of fp16 operands (composed attention's scores) runs on the tensor cores where there are any, else
    /// as the fp32 kernel on exact fp32 copies of the operands (the same values, summed the same way).
    /// </summary>
    protected override void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape)
    {
        if (a.DType == c.DType || TensorCores != TensorCoreMode.None)
        {
            For(a).Gemm(a, b, bias, residual, c, shape);
            return;
        }
        using var a32 = Widened(a);
        using var b32 = Widened(b);
        _single.Gemm(a32, b32, bias, residual, c, shape);
    }

    private Tensor Widened(Tensor x)
    {
        var y = Allocate(x.Shape, DType.F32);
        ConvertCore(x, y);
        return y;
    }

    protected override void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape) =>
        For(y).Conv2d(x, weight, bias, sampleBias, residual, y, shape);

    protected override Tensor PackConv2dFilterCore(Tensor weight)
    {
        var kernels = For(weight);
        return kernels.PacksConv2dFilters(weight.Shape[1], weight.Shape[2] * weight.Shape[3])
            ? PackConv2dFilterInto(weight, packed => kernels.PackConv2dFilter(weight, packed)) : weight;
    }

    protected override TensorLayout ConvolutionInputLayout(GroupNormShape shape, DType dtype) =>
        dtype == DType.F16 ? _half.ConvolutionInputLayout(shape) : _single.ConvolutionInputLayout(shape);

    protected override void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape) =>
        For(y).GroupNorm(x, gamma, beta, y, shape);

    protected override void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape) =>
        For(y).LayerNorm(x, gamma, beta, y, shape);

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape) => For(y).Attention(q, k, v, y, shape);

    protected override void SoftmaxCore(Tensor x, Tensor y, int rows, int cols) => For(y).Softmax(x, y, rows, cols);

    /// <summary>The fused kernel's limit; the VAE's single 512-wide head runs as GEMM → softmax → GEMM.</summary>
    protected override int MaxFusedHeadDim => AttentionKernels.MaxHeadDim;

    protected override void ActivateCore(Tensor x, Tensor y, ActivationKind kind) => For(y).Activate(x, y, kind);

    protected override void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op) => For(y).Binary(a, b, y, op);

    protected override void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max) =>
        For(y).Affine(x, y, scale, shift, min, max);

    protected override void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride) =>
        For(y).AddChannelBias(x, bias, y, channels, spatial, biasBatchStride);

    protected override void GegluCore(Tensor x, Tensor y, int half) => For(y).Geglu(x, y, half);

    protected override void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB) => For(y).Concat(a, b, y, innerA, innerB);

    protected override void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length) =>
        For(y).Narrow(x, y, sourceInner, start, length);

    protected override void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols) => For(y).Transpose(x, y, batch, rows, cols);

    protected override void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth) =>
        For(y).UpsampleNearest(x, y, height, width, outHeight, outWidth);

    protected override void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width) => For(y).AvgPool2x2(x, y, height, width);

    protected override void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale, int maxPeriod)
    {
        int half = Math.Max(dim / 2, 1);
        using var t = FromHost(timesteps, new TensorShape(timesteps.Length));
        using var frequencies = FromHost(EmbeddingLauncher<Kernels.Launch.F32View>.Frequencies(half, downscaleFreqShift, maxPeriod), new TensorShape(half));
        _single.Timestep(Floats(t), Floats(frequencies), Floats(y), dim, flipSinToCos, scale);
    }

    protected override void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden) =>
        For(y).TokenEmbedding(UploadIds(ids), table, positions, y, length, hidden);
}
