using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>
/// A backend whose tensors have shapes but no memory. Models are built on it to check weight names and shapes
/// (plan mode) and to count parameters of full-size models. Running an op on it is an error, unless it was made
/// with <c>shapesFlow: true</c>: then ops validate their inputs and return results of the right shape without
/// computing anything, so that a forward pass with an <see cref="Diagnostics.OpProfiler"/> counts a full-size
/// model's FLOPs and bytes in milliseconds. Reading data back is an error either way.
/// </summary>
public sealed class MetaBackend(bool shapesFlow = false) : Backend
{
    private sealed class MetaBuffer(long length, DType dtype) : DeviceBuffer(length, dtype)
    {
        public override void Dispose() { }
    }

    public override string Name => "meta";
    public override DeviceInfo Device { get; } = new("meta", "shapes only", 0, 1, "none", "holds no data");
    public override void Synchronize() { }

    protected override DeviceBuffer AllocateBuffer(long length, DType dtype) => new MetaBuffer(length, dtype);

    private static DiffuserException NoData() => new("The meta backend holds shapes only; it cannot move data or run ops.");

    /// <summary>The body of every op: nothing when shapes flow, otherwise an error.</summary>
    private void Skip()
    {
        if (!shapesFlow) throw NoData();
    }

    protected override void UploadCore(ReadOnlySpan<float> source, Tensor destination) => Skip();
    protected override void UploadCore(ReadOnlySpan<Half> source, Tensor destination) => Skip();
    protected override void DownloadCore(Tensor source, Span<float> destination) => throw NoData();
    protected override void ConvertCore(Tensor x, Tensor y) => Skip();
    protected override void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape) => Skip();
    protected override void Conv2dCore(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape) => Skip();
    protected override void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape) => Skip();
    protected override void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape) => Skip();
    protected override void AttentionCore(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape) => Skip();
    protected override void SoftmaxCore(Tensor x, Tensor y, int rows, int cols) => Skip();
    protected override void ActivateCore(Tensor x, Tensor y, ActivationKind kind) => Skip();
    protected override void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op) => Skip();
    protected override void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max) => Skip();
    protected override void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride) => Skip();
    protected override void GegluCore(Tensor x, Tensor y, int half) => Skip();
    protected override void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB) => Skip();
    protected override void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length) => Skip();
    protected override void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols) => Skip();
    protected override void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth) => Skip();
    protected override void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width) => Skip();
    protected override void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos, float downscaleFreqShift, float scale, int maxPeriod) => Skip();
    protected override void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden) => Skip();
    protected override void SamplerStepCore(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise, Tensor[] outputs, SamplerStepShape shape, SamplerCoefficients coefficients) => Skip();
    protected override void NormalNoiseCore(Tensor y, ulong seed, ulong draw) => Skip();
}
