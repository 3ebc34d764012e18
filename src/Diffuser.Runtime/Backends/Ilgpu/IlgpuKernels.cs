using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.Resample;
using Diffuser.Tensors;
using ILGPU;
using ILGPU.Runtime;
using static Diffuser.Backends.Ilgpu.IlgpuBackend;

namespace Diffuser.Backends.Ilgpu;

/// <summary>The ops of <see cref="IlgpuBackend"/> for tensors of one storage type (the backend picks the set by dtype).</summary>
internal interface IIlgpuKernels
{
    void Gemm(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape);
    void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape);
    /// <summary>Whether <see cref="Conv2d"/> reads filters [K, <paramref name="channels"/>, R, S] of R·S = <paramref name="taps"/> packed (<see cref="PackConv2dFilter"/>).</summary>
    bool PacksConv2dFilters(int channels, int taps);
    /// <summary>Fills <paramref name="packed"/> ([K, R, S, Cp]) with the dense filters <paramref name="weight"/>.</summary>
    void PackConv2dFilter(Tensor weight, Tensor packed);
    /// <summary>The layout <see cref="GroupNorm"/> writes for a convolution's input (<see cref="Backend.GroupNorm"/>'s forConvolution).</summary>
    TensorLayout ConvolutionInputLayout(GroupNormShape shape);
    void GroupNorm(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape);
    void LayerNorm(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape);
    void Attention(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape);
    void Softmax(Tensor x, Tensor y, int rows, int cols);
    void Activate(Tensor x, Tensor y, ActivationKind kind);
    void Binary(Tensor a, Tensor b, Tensor y, BinaryOp op);
    void Affine(Tensor x, Tensor y, float scale, float shift, float min, float max);
    void AddChannelBias(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride);
    void Geglu(Tensor x, Tensor y, int half);
    void Concat(Tensor a, Tensor b, Tensor y, int innerA, int innerB);
    void Narrow(Tensor x, Tensor y, int sourceInner, int start, int length);
    void Transpose(Tensor x, Tensor y, int batch, int rows, int cols);
    void UpsampleNearest(Tensor x, Tensor y, int height, int width, int outHeight, int outWidth);
    void AvgPool2x2(Tensor x, Tensor y, int height, int width);
    void TokenEmbedding(ArrayView<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden);
}

/// <summary>
/// Every op family's launcher for storage type <typeparamref name="T"/>, each loaded on first use, and the glue from
/// tensors to kernel views. Scratch memory (split-K workspaces, norm partial sums) comes from the backend's pool as fp32.
/// </summary>
internal class IlgpuKernels<T>(Accelerator accelerator, Func<Tensor, T> view, Func<long, Tensor?> scratch, KernelOptions options) : IIlgpuKernels
    where T : struct, IElementView<T>
{
    private readonly Lazy<GemmLauncher<T>> _gemm = new(() => new GemmLauncher<T>(accelerator));
    private readonly Lazy<Conv2dLauncher<T>> _conv = new(() => new Conv2dLauncher<T>(accelerator));
    private readonly Lazy<NormLauncher<T>> _norm = new(() => new NormLauncher<T>(accelerator, options.OnePassGroupNorm));
    private readonly Lazy<AttentionLauncher<T>> _attention = new(() => new AttentionLauncher<T>(accelerator));
    private readonly Lazy<ElementwiseLauncher<T>> _elementwise = new(() => new ElementwiseLauncher<T>(accelerator));
    private readonly Lazy<LayoutLauncher<T>> _layout = new(() => new LayoutLauncher<T>(accelerator));
    private readonly Lazy<ResampleLauncher<T>> _resample = new(() => new ResampleLauncher<T>(accelerator));
    private readonly Lazy<EmbeddingLauncher<T>> _embedding = new(() => new EmbeddingLauncher<T>(accelerator));

    protected Accelerator Accelerator => accelerator;

    protected T View(Tensor t) => view(t);

    protected T ViewOrEmpty(Tensor? t) => t is null ? default : view(t);

    protected Tensor? Scratch(long length) => scratch(length);

    public virtual void Gemm(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape)
    {
        using var workspace = scratch(_gemm.Value.WorkspaceLength(shape));
        _gemm.Value.Run(View(a), View(b), ViewOrEmpty(bias), ViewOrEmpty(residual), View(c), FloatsOrEmpty(workspace), shape);
    }

    public virtual void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape)
    {
        if (weight.Layout != TensorLayout.Dense) throw new InvalidOperationException($"The portable convolution reads dense filters, not {weight.Layout}.");
        using var workspace = scratch(_conv.Value.WorkspaceLength(shape));
        _conv.Value.Run(View(x), View(weight), ViewOrEmpty(bias), ViewOrEmpty(sampleBias), ViewOrEmpty(residual), View(y), FloatsOrEmpty(workspace), shape);
    }

    public virtual bool PacksConv2dFilters(int channels, int taps) => false;

    public virtual void PackConv2dFilter(Tensor weight, Tensor packed) =>
        throw new InvalidOperationException($"The {typeof(T).Name} kernels read filters as they are.");

    public virtual TensorLayout ConvolutionInputLayout(GroupNormShape shape) => TensorLayout.Dense;

    /// <summary>Into a dense y, or a channel-blocked one (which starts aligned: the norm allocated it whole).</summary>
    public void GroupNorm(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape)
    {
        bool aligned = x.Offset % 8 == 0 && y.Offset % 8 == 0;
        if (y.Layout == TensorLayout.ChannelBlocked)
        {
            using var sums = scratch(_norm.Value.BlockedScratchLength(shape));
            _norm.Value.GroupNormBlocked(View(x), View(gamma), View(beta), FloatsOrEmpty(sums), View(y), shape, aligned);
            return;
        }
        using var partials = scratch(_norm.Value.ScratchLength(shape, aligned));
        _norm.Value.GroupNorm(View(x), View(gamma), View(beta), FloatsOrEmpty(partials), View(y), shape, aligned);
    }

    public void LayerNorm(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape) =>
        _norm.Value.LayerNorm(View(x), View(gamma), View(beta), View(y), shape,
            alignedChunks: x.Offset % 8 == 0 && gamma.Offset % 8 == 0 && beta.Offset % 8 == 0 && y.Offset % 8 == 0);

    public virtual void Attention(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape) =>
        _attention.Value.Run(View(q), View(k), View(v), View(y), shape);

    /// <summary>x of this storage type, or fp32 (attention scores into fp16 probabilities).</summary>
    public void Softmax(Tensor x, Tensor y, int rows, int cols)
    {
        if (x.DType == y.DType) _attention.Value.Softmax(View(x), View(y), rows, cols);
        else _attention.Value.SoftmaxOfSingle(new F32View(Floats(x)), View(y), rows, cols);
    }

    public void Activate(Tensor x, Tensor y, ActivationKind kind) => _elementwise.Value.Activate(View(x), View(y), y.Length, kind);

    public void Binary(Tensor a, Tensor b, Tensor y, BinaryOp op) => _elementwise.Value.Binary(View(a), View(b), View(y), y.Length, op);

    public void Affine(Tensor x, Tensor y, float scale, float shift, float min, float max) =>
        _elementwise.Value.Affine(View(x), View(y), y.Length, scale, shift, min, max);

    public void AddChannelBias(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride) =>
        _elementwise.Value.AddChannelBias(View(x), View(bias), View(y), y.Length, channels, spatial, biasBatchStride);

    public void Geglu(Tensor x, Tensor y, int half) => _elementwise.Value.Geglu(View(x), View(y), y.Length, half);

    public void Concat(Tensor a, Tensor b, Tensor y, int innerA, int innerB) => _layout.Value.Concat(View(a), View(b), View(y), y.Length, innerA, innerB);

    public void Narrow(Tensor x, Tensor y, int sourceInner, int start, int length) =>
        _layout.Value.Narrow(View(x), View(y), y.Length, sourceInner, start, length);

    public void Transpose(Tensor x, Tensor y, int batch, int rows, int cols) => _layout.Value.Transpose(View(x), View(y), batch, rows, cols);

    public void UpsampleNearest(Tensor x, Tensor y, int height, int width, int outHeight, int outWidth) =>
        _resample.Value.UpsampleNearest(View(x), View(y), y.Length, height, width, outHeight, outWidth);

    public void AvgPool2x2(Tensor x, Tensor y, int height, int width) => _resample.Value.AvgPool2x2(View(x), View(y), y.Length, height, width);

    public void TokenEmbedding(ArrayView<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden) =>
        _embedding.Value.Token(ids, View(table), ViewOrEmpty(positions), positions is not null, View(y), y.Length, length, hidden);

    /// <summary>The timestep embedding, always fp32 (only the fp32 set is asked for it).</summary>
    public void Timestep(ArrayView<float> timesteps, ArrayView<float> frequencies, ArrayView<float> y, int dim, bool flipSinToCos, float scale) =>
        _embedding.Value.Timestep(timesteps, frequencies, y, dim, flipSinToCos, scale);
}
