using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Tensors;

namespace Diffuser.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor c, GemmShape shape)
    {
        using var workspace = Scratch(_gemm.Value.WorkspaceLength(shape));
        _gemm.Value.Run(View(a), View(b), ViewOrEmpty(bias), View(c), ViewOrEmpty(workspace), shape);
    }

    protected override void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? residual, Tensor y, Conv2dShape shape)
    {
        using var workspace = Scratch(_conv.Value.WorkspaceLength(shape));
        _conv.Value.Run(View(x), View(weight), ViewOrEmpty(bias), ViewOrEmpty(residual), View(y), ViewOrEmpty(workspace), shape);
    }

    /// <summary>
    /// A pooled scratch tensor, or null for none. Returning it to the pool right after the launch is safe: every
    /// kernel runs on the one default stream, so a later user of the buffer runs after this kernel.
    /// </summary>
    private Tensor? Scratch(long length) => length > 0 ? Allocate(new TensorShape(checked((int)length))) : null;

    protected override void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape)
    {
        using var scratch = Scratch(NormLauncher.ScratchLength(shape))!;
        _norm.Value.GroupNorm(View(x), View(gamma), View(beta), View(scratch), View(y), shape);
    }

    protected override void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape) =>
        _norm.Value.LayerNorm(View(x), View(gamma), View(beta), View(y), shape);

    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape) =>
        _attention.Value.Run(View(q), View(k), View(v), View(y), shape);

    protected override void ActivateCore(Tensor x, Tensor y, ActivationKind kind) => _elementwise.Value.Activate(View(x), View(y), kind);

    protected override void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op) => _elementwise.Value.Binary(View(a), View(b), View(y), op);

    protected override void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max) =>
        _elementwise.Value.Affine(View(x), View(y), scale, shift, min, max);

    protected override void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride) =>
        _elementwise.Value.AddChannelBias(View(x), View(bias), View(y), channels, spatial, biasBatchStride);

    protected override void GegluCore(Tensor x, Tensor y, int half) => _elementwise.Value.Geglu(View(x), View(y), half);

    protected override void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB) =>
        _layout.Value.Concat(View(a), View(b), View(y), innerA, innerB);

    protected override void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length) =>
        _layout.Value.Narrow(View(x), View(y), sourceInner, start, length);

    protected override void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols) =>
        _layout.Value.Transpose(View(x), View(y), batch, rows, cols);

    protected override void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth) =>
        _resample.Value.UpsampleNearest(View(x), View(y), height, width, outHeight, outWidth);

    protected override void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width) =>
        _resample.Value.AvgPool2x2(View(x), View(y), height, width);

    protected override void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale, int maxPeriod)
    {
        int half = Math.Max(dim / 2, 1);
        using var t = FromHost(timesteps, new TensorShape(timesteps.Length));
        using var frequencies = FromHost(EmbeddingLauncher.Frequencies(half, downscaleFreqShift, maxPeriod), new TensorShape(half));
        _embedding.Value.Timestep(View(t), View(frequencies), View(y), dim, flipSinToCos, scale);
    }

    protected override void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden) =>
        _embedding.Value.Token(UploadIds(ids), View(table), ViewOrEmpty(positions), View(y), length, hidden);
}
