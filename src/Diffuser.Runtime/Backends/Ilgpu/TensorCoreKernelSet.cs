using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.TensorCore;
using Diffuser.Tensors;
using ILGPU.Runtime;
using static Diffuser.Backends.Ilgpu.IlgpuBackend;

namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// The fp16 kernel set with GEMM, convolution and (non-causal, supported head dims) attention on tensor cores
/// (<typeparamref name="TM"/>: mma.sync through inline PTX on CUDA devices of compute capability 8.0 and later,
/// Hopper's wgmma, or their emulation for tests on ILGPU's CPU accelerator; <typeparamref name="TR"/>: the warps of
/// products of at most 16 rows; <typeparamref name="TC"/>: how aligned operands reach shared memory); every other fp16
/// op is the portable kernel.
/// </summary>
internal sealed class TensorCoreKernelSet<TM, TR, TC> : IlgpuKernels<F16View> where TM : struct, IWarpMma where TR : struct, IWarpMma where TC : struct, IOperandCopies
{
    private readonly Lazy<TensorCoreLauncher<TM, TR, TC>> _tensorCores;
    private readonly Lazy<FlashAttentionLauncher> _attention;
    private readonly bool _blockedConvInput;

    /// <param name="options">
    /// Whether products with fewer tiles than multiprocessors split their reduction (<see cref="KernelOptions.SplitK"/>)
    /// and share a tile's sums (<see cref="KernelOptions.SharedSplitSums"/>), stream-K (<see cref="KernelOptions.StreamK"/>), and the portable kernels' options.
    /// </param>
    public TensorCoreKernelSet(Accelerator accelerator, Func<Tensor, F16View> view, Func<long, Tensor?> scratch, KernelOptions options)
        : base(accelerator, view, scratch, options)
    {
        _tensorCores = new(() => new TensorCoreLauncher<TM, TR, TC>(Accelerator, options.SplitK, options.SharedSplitSums, options.StreamK));
        _blockedConvInput = options.BlockedConvInput;
        // The attention variants are types of their own, so the launcher only needs to know which kinds TR and TC are.
        _attention = new(() => new FlashAttentionLauncher(Accelerator, emulated: typeof(TR) == typeof(EmulatedWarpMma), asyncCopies: default(TC).Async));
    }

    /// <summary>fp16 operands; the result (with its bias and residual) fp16, or fp32 (attention scores, never rounded).</summary>
    public override void Gemm(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape)
    {
        var launcher = _tensorCores.Value;
        using var workspace = Scratch(launcher.GemmWorkspaceLength(shape));
        bool vectorA = shape.TransA == 0 && Aligned(a, shape.K, shape.BatchStrideA);
        bool vectorB = shape.TransB != 0 && Aligned(b, shape.K, shape.BatchStrideB);
        shape = shape with { ChunkedStores = ChunkedStores(shape.N, c, residual) };
        if (c.DType == DType.F32)
            launcher.Gemm(View(a), View(b), Single(bias), Single(residual), Single(c), FloatsOrEmpty(workspace), shape, vectorA, vectorB);
        else launcher.Gemm(View(a), View(b), ViewOrEmpty(bias), ViewOrEmpty(residual), View(c), FloatsOrEmpty(workspace), shape, vectorA, vectorB);
    }

    private static F32View Single(Tensor? t) => new(FloatsOrEmpty(t));

    /// <summary>Packed filters run on the tensor cores; dense ones too when they could have been packed (packed here, per call).</summary>
    public override void Conv2d(Tensor x, Tensor weight, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape)
    {
        if (x.Layout == TensorLayout.ChannelBlocked && !(BlockedPatchOperand<TC>.Supports(shape) && PacksConv2dFilters(shape.C, shape.R * shape.S)))
            throw new DiffuserException($"Conv2d: a channel-blocked input is read by convolutions of a multiple of 32 channels; got {shape.C} channels.");
        if (weight.Layout == TensorLayout.TapMajorFilter)
        {
            Conv2dPacked(x, View(weight), bias, sampleBias, residual, y, shape);
            return;
        }
        if (!PacksConv2dFilters(shape.C, shape.R * shape.S))
        {
            base.Conv2d(x, weight, bias, sampleBias, residual, y, shape);
            return;
        }
        using var scratch = HalfScratch((long)shape.K * TapMajorFilter.Depth(shape));
        var packed = Halves(scratch);
        _tensorCores.Value.PackFilter(View(weight), packed, shape.K, shape.C, shape.R * shape.S);
        Conv2dPacked(x, packed, bias, sampleBias, residual, y, shape);
    }

    public override bool PacksConv2dFilters(int channels, int taps) => PatchTaps.Supports(channels, taps);

    /// <summary>Channel-blocked where the convolution after the norm copies such an image and the norm writes it (a plane of whole 8-pixel steps).</summary>
    public override TensorLayout ConvolutionInputLayout(GroupNormShape shape) =>
        _blockedConvInput && BlockedPatchOperand<TC>.SupportsImage(shape.N, shape.C, shape.Spatial) && NormLauncher<F16View>.SupportsBlocked(shape)
            ? TensorLayout.ChannelBlocked : TensorLayout.Dense;

    public override void PackConv2dFilter(Tensor weight, Tensor packed) =>
        _tensorCores.Value.PackFilter(View(weight), View(packed), weight.Shape[0], weight.Shape[1], weight.Shape[2] * weight.Shape[3]);

    private void Conv2dPacked(Tensor x, F16View packed, Tensor? bias, Tensor? sampleBias, Tensor? residual, Tensor y, Conv2dShape shape)
    {
        var launcher = _tensorCores.Value;
        using var workspace = Scratch(launcher.ConvWorkspaceLength(shape));
        shape = shape with { ChunkedStores = ChunkedStores(shape.OH * shape.OW, y, residual) };
        if (x.Layout == TensorLayout.ChannelBlocked)
            launcher.Conv2dBlocked(View(x), packed, ViewOrEmpty(bias), ViewOrEmpty(sampleBias), ViewOrEmpty(residual), View(y), FloatsOrEmpty(workspace), shape);
        else if (CopiesToChannelBlocks(shape))
        {
            using var copy = HalfScratch(x.Length);
            var blocked = Halves(copy);
            launcher.ToChannelBlocks(View(x), blocked, shape.N, shape.C, shape.SourcePlane);
            launcher.Conv2dBlocked(blocked, packed, ViewOrEmpty(bias), ViewOrEmpty(sampleBias), ViewOrEmpty(residual), View(y), FloatsOrEmpty(workspace), shape);
        }
        else launcher.Conv2d(View(x), packed, ViewOrEmpty(bias), ViewOrEmpty(sampleBias), ViewOrEmpty(residual), View(y), FloatsOrEmpty(workspace), shape);
    }

    /// <summary>Pool scratch (fp32, 16-byte aligned) that holds <paramref name="halves"/> fp16 values, seen as such by <see cref="Halves"/>.</summary>
    private Tensor? HalfScratch(long halves) => Scratch((halves + 1) / 2);

    private static F16View Halves(Tensor? scratch) => new(FloatsOrEmpty(scratch).Cast<ushort>());

    /// <summary>
    /// Whether a dense image is first copied channel-blocked (one more launch) for the convolution to copy by cp.async:
    /// where it is read upsampled (the upsamplers'), so that the copy moves a quarter of what the convolution reads.
    /// </summary>
    private bool CopiesToChannelBlocks(Conv2dShape shape) => _blockedConvInput && shape.Upsample != 0 && BlockedPatchOperand<TC>.Supports(shape);

    public override void Attention(Tensor q, Tensor k, Tensor v, Tensor y, AttentionShape shape)
    {
        if (FlashAttentionLauncher.Supports(shape))
            _attention.Value.Run(View(q), View(k), View(v), View(y), shape, FlashAttentionLauncher.Aligned(shape, q.Offset, k.Offset, v.Offset));
        else base.Attention(q, k, v, y, shape);
    }

    /// <summary>
    /// Rows of <paramref name="depth"/> halves that start on 16-byte boundaries (pool buffers themselves are aligned),
    /// in a tensor of fewer than 2³¹ such chunks (the kernel indexes chunks within a matrix with 32-bit integers).
    /// </summary>
    private static bool Aligned(Tensor t, int depth, long batchStride) =>
        depth % 8 == 0 && t.Offset % 8 == 0 && batchStride % 8 == 0 && t.Length / 8 < int.MaxValue;

    /// <summary>
    /// 1 when the output's rows (a GEMM's N, a convolution's OH·OW) are whole 16-byte chunks of halves and the output and
    /// residual start 16-byte aligned: the tensor-core store then writes 8 columns at once.
    /// </summary>
    private static int ChunkedStores(int rowLength, Tensor output, Tensor? residual) =>
        rowLength % 8 == 0 && output.Offset % 8 == 0 && (residual is null || residual.Offset % 8 == 0) ? 1 : 0;
}
