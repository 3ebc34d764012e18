using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.TensorCore;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core kernels as the launchers specialise them for Stable Diffusion's shapes (ILGPU compiles a kernel
/// per value of its <see cref="SpecializedValue{T}"/> parameters; a constant passed here is what the compiler then
/// sees): the plain aligned fp16 GEMM (with cp.async, and through registers), a GEGLU's GEMM, the time embedding's GEMM of 2 rows, the 3×3 and 1×1 convolutions (packed filters, channels a multiple of 32 on a
/// 64×64 and a 32×32 image), an upsampler's 3×3 convolution, a conv_out of 3 filters, the 3×3 convolution and the
/// conv_out of a channel-blocked image (what a resnet's norms write), the GEMM, GEGLU's GEMM, the scores' GEMM and the 3×3 convolutions dealt stream-K, and
/// the aligned attention.
/// </summary>
public static class SpecializedKernels
{
    /// <summary>The epilogue flags of to_out, ff.net.2 and a resnet's second convolution: bias and residual, stored in 16-byte chunks.</summary>
    private const int BiasAndResidual = 1 | 1 << 2 | ChunkedStores;

    private const int ChunkedStores = 1 << 3;

    /// <summary>to_out and ff.net.2: the aligned fp16 GEMM with bias and residual, stored in 16-byte chunks.</summary>
    public static void TensorCoreGemm(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F16View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: BiasAndResidual);

    /// <summary>As <see cref="TensorCoreGemm"/>, dealt stream-K (the 64×64 level's to_out and ff.net.2 fill 0.73 of their last wave on an H200).</summary>
    public static void TensorCoreGemmStreamK(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F16View, StreamKDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: BiasAndResidual);

    /// <summary>As <see cref="TensorCoreGemm"/>, its operands copied through registers (DIFFUSER_CP_ASYNC=0).</summary>
    public static void TensorCoreGemmRegisterCopies(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, RegisterCopies, F16View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: BiasAndResidual);

    /// <summary>As <see cref="TensorCoreGemm"/>, on Hopper's warp-group instructions (DIFFUSER_WGMMA=1).</summary>
    public static void TensorCoreGemmWarpGroup(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<WarpGroupMma, AsyncCopies, F16View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: BiasAndResidual);

    /// <summary>ff.net.0.proj: the aligned fp16 GEMM of a GEGLU (a column block's values and gates in one tile), with bias, stored in 16-byte chunks.</summary>
    public static void TensorCoreGemmGeglu(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F16View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 1, epilogue: 1 | ChunkedStores);

    /// <summary>As <see cref="TensorCoreGemmGeglu"/>, dealt stream-K (the 16×16 level's: 320 tiles, 1.2 waves on an H200).</summary>
    public static void TensorCoreGemmGegluStreamK(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F16View, StreamKDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 1, epilogue: 1 | ChunkedStores);

    /// <summary>The time embedding's linear_1 at batch 2 (at most 16 rows: <see cref="FirstRowsMma{TM}"/>): bias and SiLU, stored in 16-byte chunks.</summary>
    public static void TensorCoreGemmFirstRows(F16View a, F16View b, F16View bias, F16View residual, F16View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<FirstRowsMma<PtxWarpMma>, AsyncCopies, F16View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.Silu, geglu: 0,
            epilogue: 1 | ChunkedStores);

    /// <summary>Composed attention's scores: fp32 results, no bias or residual, stored in 16-byte chunks.</summary>
    public static void TensorCoreGemmToSingle(F16View a, F16View b, F32View bias, F32View residual, F32View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F32View, GridDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: ChunkedStores);

    /// <summary>As <see cref="TensorCoreGemmToSingle"/>, dealt stream-K (the VAE's 512-wide attention at a 48×48 latent, a 384² image: 324 tiles, 1.2 waves on an H200; at 512², 1024 tiles fill 0.97 of 4 waves and go by the grid).</summary>
    public static void TensorCoreGemmToSingleStreamK(F16View a, F16View b, F32View bias, F32View residual, F32View c, SplitReduction reduction, GemmShape s,
        OperandAddresses addresses) =>
        AlignedGemm<PtxWarpMma, AsyncCopies, F32View, StreamKDeal>(a, b, bias, residual, c, reduction, s, addresses, ActivationKind.None, geglu: 0, epilogue: ChunkedStores);

    /// <summary>
    /// The GEMM of aligned k-contiguous operands on <typeparamref name="TM"/>'s tensor
    /// cores, its operands copied by <typeparamref name="TC"/>, its result as <typeparamref name="TO"/>, dealt by
    /// <typeparamref name="TD"/>: <paramref name="activation"/>, <paramref name="geglu"/> and <paramref name="epilogue"/>
    /// are the kernel's constants once ILGPU inlines this into each wrapper.
    /// </summary>
    private static void AlignedGemm<TM, TC, TO, TD>(F16View a, F16View b, TO bias, TO residual, TO c, SplitReduction reduction, GemmShape s, OperandAddresses addresses,
        ActivationKind activation, int geglu, int epilogue)
        where TM : struct, IWarpMma where TC : struct, IOperandCopies where TO : struct, IElementView<TO> where TD : struct, ITileDeal =>
        TensorCoreKernels.Gemm<TM, TC, TO, TD>(a, b, bias, residual, c, reduction, s, addresses, SpecializedValue.New((int)activation), SpecializedValue.New(geglu),
            SpecializedValue.New(1), SpecializedValue.New(1), SpecializedValue.New(epilogue));

    public static void TensorCoreConv3x3(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<PtxWarpMma, AsyncCopies, GridDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>As <see cref="TensorCoreConv3x3"/>, dealt stream-K (the 64×64 level's resnet convolutions).</summary>
    public static void TensorCoreConv3x3StreamK(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<PtxWarpMma, AsyncCopies, StreamKDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>As <see cref="TensorCoreConv3x3"/>, on Hopper's warp-group instructions (DIFFUSER_WGMMA=1).</summary>
    public static void TensorCoreConv3x3WarpGroup(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<WarpGroupMma, AsyncCopies, GridDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    public static void TensorCoreConv1x1(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<PtxWarpMma, AsyncCopies, GridDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(1), SpecializedValue.New(1), SpecializedValue.New(32 * 32), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>As <see cref="TensorCoreConv3x3"/>, of the channel-blocked image a resnet's norm writes for it (copied by cp.async as the filters are).</summary>
    public static void TensorCoreConv3x3Blocked(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2dBlocked<PtxWarpMma, AsyncCopies, GridDeal>(x, xAddress, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>As <see cref="TensorCoreConv3x3Blocked"/>, dealt stream-K.</summary>
    public static void TensorCoreConv3x3BlockedStreamK(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2dBlocked<PtxWarpMma, AsyncCopies, StreamKDeal>(x, xAddress, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>As <see cref="TensorCoreConv3x3Blocked"/>, on Hopper's warp-group instructions (DIFFUSER_WGMMA=1).</summary>
    public static void TensorCoreConv3x3BlockedWarpGroup(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2dBlocked<WarpGroupMma, AsyncCopies, GridDeal>(x, xAddress, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(64 * 64), SpecializedValue.New(0), SpecializedValue.New(BiasAndResidual));

    /// <summary>The VAE's conv_out (<see cref="TensorCoreConvFirstRows"/>) of the channel-blocked image its conv_norm_out writes.</summary>
    public static void TensorCoreConvFirstRowsBlocked(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2dBlocked<FirstRowsMma<PtxWarpMma>, AsyncCopies, GridDeal>(x, xAddress, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(512 * 512), SpecializedValue.New(0), SpecializedValue.New(1 | ChunkedStores));

    /// <summary>An upsampler's conv (3×3, reading a 32×32 image upsampled to 64×64; bias, no residual).</summary>
    public static void TensorCoreConvUpsampled(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<PtxWarpMma, AsyncCopies, GridDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(32 * 32), SpecializedValue.New(1), SpecializedValue.New(1 | ChunkedStores));

    /// <summary>As <see cref="TensorCoreConvUpsampled"/>, of its image copied channel-blocked first.</summary>
    public static void TensorCoreConvUpsampledBlocked(F16View x, long xAddress, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2dBlocked<PtxWarpMma, AsyncCopies, GridDeal>(x, xAddress, weight, weightAddress, bias, sampleBias, residual, y, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(32 * 32), SpecializedValue.New(1), SpecializedValue.New(1 | ChunkedStores));

    /// <summary>A conv_out (3×3, at most 16 filters: <see cref="FirstRowsMma{TM}"/>; bias, no residual) on the VAE's 512×512 image of 128 channels.</summary>
    public static void TensorCoreConvFirstRows(F16View x, F16View weight, long weightAddress, F16View bias, F16View sampleBias, F16View residual, F16View y,
        F16View zeros, SplitReduction reduction, Conv2dShape s) =>
        TensorCoreKernels.Conv2d<FirstRowsMma<PtxWarpMma>, AsyncCopies, GridDeal>(x, weight, weightAddress, bias, sampleBias, residual, y, zeros, reduction, s, SpecializedValue.New(3), SpecializedValue.New(3), SpecializedValue.New(512 * 512), SpecializedValue.New(0), SpecializedValue.New(1 | ChunkedStores));

    public static void Attention48(F16View q, F16View k, F16View v, F16View o, AttentionShape s, KeyValueAddresses addresses) =>
        FlashAttentionKernels.Attention<PtxWarpAttention48, AsyncCopies>(q, k, v, o, s, addresses, SpecializedValue.New((int)AttentionTileCopy.Chunks));

    public static void Attention64(F16View q, F16View k, F16View v, F16View o, AttentionShape s, KeyValueAddresses addresses) =>
        FlashAttentionKernels.Attention<PtxWarpAttention64, AsyncCopies>(q, k, v, o, s, addresses, SpecializedValue.New((int)AttentionTileCopy.FullWidthChunks));

    public static void Attention80(F16View q, F16View k, F16View v, F16View o, AttentionShape s, KeyValueAddresses addresses) =>
        FlashAttentionKernels.Attention<PtxWarpAttention80, AsyncCopies>(q, k, v, o, s, addresses, SpecializedValue.New((int)AttentionTileCopy.FullWidthChunks));

    public static void Attention160(F16View q, F16View k, F16View v, F16View o, AttentionShape s, KeyValueAddresses addresses) =>
        FlashAttentionKernels.Attention<PtxWarpAttention160, AsyncCopies>(q, k, v, o, s, addresses, SpecializedValue.New((int)AttentionTileCopy.FullWidthChunks));

    /// <summary>fp16 group norm on aligned tensors of a spatial size that is a multiple of 8 (every SD shape): eight elements a step.</summary>
    public static void GroupNormPartials(F16View x, ArrayView<float> partials, GroupNormShape s, int chunks) =>
        NormKernels.GroupNormPartials(x, partials, s, chunks, SpecializedValue.New(1));

    /// <summary>As <see cref="GroupNormPartials"/>, with SiLU (a resnet's norm1 and norm2).</summary>
    public static void GroupNormApply(F16View x, F16View gamma, F16View beta, ArrayView<float> partials, F16View y, GroupNormShape s, int chunks) =>
        NormKernels.GroupNormApply(x, gamma, beta, partials, y, s, chunks, SpecializedValue.New(1), SpecializedValue.New(1));

    /// <summary>As <see cref="GroupNormApply"/>, writing the channel-blocked layout the tensor-core convolution reads.</summary>
    public static void GroupNormApplyBlocked(F16View x, F16View gamma, F16View beta, ArrayView<float> partials, F16View y, GroupNormShape s, int chunks) =>
        BlockedGroupNormKernels.GroupNormApplyBlocked(x, gamma, beta, partials, y, s, chunks, SpecializedValue.New(1));

    /// <summary>As <see cref="GroupNormApply"/>, in the one launch that reads x once.</summary>
    public static void GroupNormOnePass(F16View x, F16View gamma, F16View beta, F16View y, ArrayView<float> partials, ArrayView<int> counters,
        GroupNormShape s, int parts) =>
        NormKernels.GroupNormOnePass(x, gamma, beta, y, partials, counters, s, parts, SpecializedValue.New(1), SpecializedValue.New(1));

    /// <summary>As <see cref="GroupNormApplyBlocked"/>, in the one launch that reads x once.</summary>
    public static void GroupNormOnePassBlocked(F16View x, F16View gamma, F16View beta, F16View y, ArrayView<float> partials, ArrayView<int> counters,
        GroupNormShape s, int unitGroups, int parts) =>
        BlockedGroupNormKernels.GroupNormOnePassBlocked(x, gamma, beta, y, partials, counters, s, unitGroups, parts, SpecializedValue.New(1));

    /// <summary>fp16 layer norm on aligned tensors of a feature count that is a multiple of 8 (every SD shape): eight elements a lane and step.</summary>
    public static void LayerNorm(F16View x, F16View gamma, F16View beta, F16View y, LayerNormShape s) =>
        NormKernels.LayerNorm(x, gamma, beta, y, s, SpecializedValue.New(1));
}
