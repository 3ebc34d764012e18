using Diffuser.Backends;
using Diffuser.Backends.Ilgpu;
using Diffuser.Diagnostics;
using Diffuser.Kernels.Attention;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Diagnostics.OpCaseFactory;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core GEMM, convolution and attention kernels, whole, on ILGPU's CPU accelerator with the mma
/// instructions emulated element by element (<c>EmulatedWarpMma</c>, <c>EmulatedWarpAttention</c>): operand chunks,
/// shared layout, stages, split-K, the staged epilogue, GEGLU pairing, attention's key blocks, masks, strides and
/// offsets against the cpu backend's fp16 reference. A cp.async copy is made there at once from the very global address
/// and predicate the GPU's copy gets (<c>EmulatedAsyncCopies</c>), so the copies' addressing is tested too. The PTX itself is
/// checked by <c>TensorCorePtxTests</c> and <c>FlashAttentionPtxTests</c>.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class TensorCoreEmulationTests(EmulatedBackends backends) : IClassFixture<EmulatedBackends>
{
    private Backend Emulated => backends.Get(TensorCoreMode.Emulated);
    private Backend RegisterCopies => backends.Get(TensorCoreMode.Emulated, new KernelOptions(AsyncCopies: false));
    private Backend WarpGroup => backends.Get(TensorCoreMode.EmulatedWarpGroup);
    private Backend Cpu => backends.Cpu;

    public static TheoryData<string> Cases() => new(TensorCoreCases.Select(c => c.Id));

    public static TheoryData<string> MatmulCases() => new(TensorCoreCases.Where(c => c.Family != "attention").Select(c => c.Id));

    /// <summary>
    /// Attention beyond the small table's: several key blocks with a partial last one and two query blocks (L = 70,
    /// S = 130; two stages of K and V), key blocks through head dim 160's one stage, packed self-attention with batch
    /// and heads, packed cross-attention with fewer keys than a block and a head dim that pads (72 → 80), and a head dim
    /// that is no multiple of 8 (tiles copied element by element; the others 16 bytes at a time); a head too wide for
    /// the fused kernel whose keys are a multiple of 8 (both composed GEMMs copy 16 bytes at a time; the small table's
    /// wide heads have 17 and 9 keys).
    /// </summary>
    private static readonly OpCase[] AttentionCases =
    [
        Half(Attention("blocks_b1h1_l70_s130_d64", 1, 1, 70, 130, 64)),
        Half(Attention("one_stage_b1h1_l20_s70_d160", 1, 1, 20, 70, 160)),
        Half(SelfAttention("self_packed_b2h2_l21_d40", 2, 2, 21, 40)),
        Half(CrossAttention("cross_packed_b1h2_l13_s9_d72", 1, 2, 13, 9, 72)),
        Half(Attention("unaligned_b1h2_l20_s30_d36", 1, 2, 20, 30, 36)),
        Half(Attention("wide_b1h1_l20_s40_d256", 1, 1, 20, 40, 256)),
    ];

    /// <summary>
    /// Products dealt stream-K on the test accelerator (4 multiprocessors, a wave of 8 groups: 6 tiles, 0.75 of it, of
    /// 7 to 18 stages, so that a group works on the end of one tile and the start of the next), with the tiles and
    /// stages by which the launcher takes them so: a GEMM with bias and residual, unaligned and in 16-byte rows, a
    /// batched one, a GEGLU, a 3×3 convolution with residual and one of a channel-blocked image after its norm.
    /// </summary>
    private static readonly (OpCase Case, int Tiles, int Stages)[] StreamKCases =
    [
        (Half(Gemm("130x300x200_bias_residual_streamK", 1, 130, 300, 200, bias: true, residual: true)), 6, 7),
        (Half(Gemm("130x296x200_residual_streamK", 1, 130, 296, 200, residual: true)), 6, 7),
        (Half(Gemm("b3_20x200x160_streamK", 3, 20, 200, 160)), 6, 5),
        (Half(GegluLinear("140x200_to_136_streamK", 140, 200, 136)), 6, 7),
        (Half(Conv2d("12x12_c32k140_k3s1p1_residual_streamK", 2, 32, 12, 12, 140, 3, 1, Padding2d.Same(1), residual: true)), 6, 9),
        (Half(GroupNormConv2d("2x64x12x12_g16_k140_streamK", 2, 64, 12, 12, 16, 140)), 6, 18),
    ];

    public static TheoryData<string> StreamKCaseIds() => new(StreamKCases.Select(c => c.Case.Id));

    /// <summary>
    /// Stream-K products (<see cref="Diffuser.Kernels.Launch.TileSchedule"/>) against the fp16 reference and against the
    /// same products dealt by the grid (DIFFUSER_STREAM_K=0), on mma.sync's warps and on wgmma's warp group.
    /// </summary>
    [Theory, MemberData(nameof(StreamKCaseIds))]
    public void StreamKMatchesTheReferenceAndTheGridsDeal(string id)
    {
        var (c, tiles, stages) = StreamKCases.Single(x => x.Case.Id == id);
        Assert.Equal(8, Diffuser.Kernels.Launch.TileSchedule.StreamGroups(4, tiles, stages));
        float[] streamed = Run(c, Emulated), reference = Run(c, Cpu);
        Tolerance.AssertClose(streamed, reference, c.Atol, c.Rtol, c.Id);
        Tolerance.AssertClose(streamed, Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(StreamK: false))), c.Atol, c.Rtol, c.Id);
        Tolerance.AssertClose(Run(c, WarpGroup), reference, c.Atol, c.Rtol, c.Id);
    }

    /// <summary>
    /// The small fp16 matmuls (products of at most 16 rows, GEMMs' M or convolutions' filters, run on a tile's first 16
    /// rows alone, the others on the whole tile: the table has both), and the small fp16 attention cases the tensor cores take: non-causal ones of the fused
    /// kernel's head dims, and heads too wide for any fused kernel (composed from tensor-core GEMMs).
    /// </summary>
    private static IEnumerable<OpCase> TensorCoreCases => OpCases.SmallHalf
        .Where(c => c.Family is "gemm" or "geglu_linear" or "conv2d" || IsBlocked(c) || c.Family == "attention" && !(bool)c.Args!["causal"]
            && (HasTensorCoreVariant(c) || HeadDim(c) > AttentionKernels.MaxHeadDim))
        .Concat(AttentionCases);

    /// <summary>A norm + convolution pair whose norm writes a channel-blocked image (the dense ones are a convolution case after a norm case).</summary>
    private static bool IsBlocked(OpCase c) => c.Family == "group_norm_conv2d" && !c.Id.Contains("_dense", StringComparison.Ordinal);

    private static bool HasTensorCoreVariant(OpCase c) => FlashAttentionLayout.Supports(HeadDim(c));

    private static int HeadDim(OpCase c) => c.Inputs[0].Shape[2] / (c.Args!["packing"] is "qkv" ? 3 : 1) / (int)c.Args["heads"];

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheFp16Reference(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        Tolerance.AssertClose(Run(c, Emulated), Run(c, Cpu), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>
    /// GEMM and convolution on Hopper's warp-group instructions (DIFFUSER_WGMMA=1), emulated: the core-matrix layout the
    /// stores and copies fill, read where the wgmma descriptors say (decoded as the PTX ISA defines them), each warp's rows
    /// of both 64-row halves staged, a product's rows past the first half skipped (the table's 20- to 40-row products),
    /// and the products of at most 16 rows on mma.sync's first-rows warps.
    /// </summary>
    [Theory, MemberData(nameof(MatmulCases))]
    public void WarpGroupMatchesTheFp16Reference(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        Tolerance.AssertClose(Run(c, WarpGroup), Run(c, Cpu), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>As <see cref="WarpGroupMatchesTheFp16Reference"/>, operands with 16-byte rows through registers (the warp group's thread-to-chunk order differs).</summary>
    [Theory]
    [InlineData("20x30x24_tB_bias_residual_f16"), InlineData("b2_21x40x24_tB_bias_silu_residual_chunked_f16"), InlineData("5x3_c32k9_k3s1p1_residual_splitK_f16")]
    public void WarpGroupMatchesTheFp16ReferenceWithRegisterCopies(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id.EndsWith(id, StringComparison.Ordinal));
        Tolerance.AssertClose(Run(c, backends.Get(TensorCoreMode.EmulatedWarpGroup, new KernelOptions(AsyncCopies: false))), Run(c, Cpu), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>
    /// Operands with 16-byte rows loaded through registers instead of copied by cp.async (DIFFUSER_CP_ASYNC=0, the
    /// fallback should cp.async misbehave on a GPU; the paths differ in how a chunk's address is found and when it is
    /// placed): aligned GEMM operands, GEGLU and packed filters (each with at most 16 rows, computed by a tile's first
    /// rows alone, and with more), and attention's K and V tiles.
    /// </summary>
    [Theory]
    [InlineData("20x30x24_tB_bias_residual_f16"), InlineData("b2_21x40x24_tB_bias_silu_residual_chunked_f16"), InlineData("19x24_to_80_chunked_f16")]
    [InlineData("2x40x24_tB_bias_silu_chunked_f16"), InlineData("/9x24_to_80_chunked_f16")]
    [InlineData("5x3_c32k9_k3s1p1_residual_splitK_f16"), InlineData("4x4_c16k9_k3s1p1_sample_bias_residual_chunked_f16")]
    [InlineData("3x4_c32k20_k3s1p1_residual_splitK_f16")]
    [InlineData("blocks_b1h1_l70_s130_d64_f16"), InlineData("one_stage_b1h1_l20_s70_d160_f16"), InlineData("cross_packed_b1h2_l13_s9_d72_f16")]
    public void MatchesTheFp16ReferenceWithRegisterCopies(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id.EndsWith(id, StringComparison.Ordinal));
        Tolerance.AssertClose(Run(c, RegisterCopies), Run(c, Cpu), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>
    /// fp16 operands with an fp32 result (composed attention's scores): stored unrounded, so within fp32 rounding of the
    /// reference (far inside one fp16 step): with 16-byte stores, split, and rows of odd length; on the tensor cores
    /// with either copy mode, and without them (the fp32 kernel on widened copies).
    /// </summary>
    [Theory]
    [InlineData("emulated", 2, 40, 24, 32), InlineData("emulated", 2, 9, 20, 300), InlineData("emulated", 1, 37, 29, 45)]
    [InlineData("register copies", 2, 40, 24, 32), InlineData("portable", 2, 9, 20, 300)]
    public void AnFp32ProductOfFp16OperandsIsNotRounded(string kernels, int batch, int m, int n, int k)
    {
        var backend = kernels switch { "portable" => backends.Get(TensorCoreMode.None), "emulated" => Emulated, _ => RegisterCopies };
        var random = new Random(7);
        float[] a = Enumerable.Range(0, batch * m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, batch * n * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] Product(Backend on)
        {
            using var ta = on.FromHost(a, new(batch, m, k), DType.F16);
            using var tb = on.FromHost(b, new(batch, n, k), DType.F16);
            using var c = on.Gemm(ta, tb, transB: true, alpha: 0.5f, output: DType.F32);
            Assert.Equal(DType.F32, c.DType);
            return c.ToArray();
        }
        float[] actual = Product(backend);
        Tolerance.AssertClose(actual, Product(Cpu), 1e-6, 1e-5, $"{kernels} {batch}x{m}x{n}x{k}");
        Assert.Contains(actual, v => (float)(Half)v != v);
    }

    /// <summary>
    /// A split product is finished by its splits (no reduce kernel), which leave the tile counters at zero: a split
    /// GEMM (two batch entries: two tiles) and a split convolution run on other inputs right after themselves still
    /// match the reference. (A counter left over would hand out no blocks, or the wrong ones, before every split is in.)
    /// </summary>
    [Theory, InlineData("gemm/b2_9x20x300_residual_splitK_f16"), InlineData("conv2d/3x4_c30k9_k3s1p1_sample_bias_splitK_f16")]
    [InlineData("conv2d/3x4_c32k20_k3s1p1_residual_splitK_f16")]
    public void ASplitProductFinishesItselfAndLeavesItsCountersAtZero(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        var first = Run(c, Emulated);
        var second = Run(c, Emulated, seed: 99);
        Assert.NotEqual(first, second);
        Tolerance.AssertClose(second, Run(c, Cpu, seed: 99), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>Products the tensor cores would split, with splitting off (DIFFUSER_SPLIT_K=0, a fallback): one group per tile.</summary>
    [Theory, InlineData("gemm/b2_9x20x300_residual_splitK_f16"), InlineData("geglu_linear/17x300_to_40_splitK_f16"),
     InlineData("conv2d/3x4_c30k9_k3s1p1_sample_bias_splitK_f16"), InlineData("conv2d/3x4_c32k20_k3s1p1_residual_splitK_f16")]
    public void MatchesTheFp16ReferenceUnsplit(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        Tolerance.AssertClose(Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(SplitK: false))), Run(c, Cpu), c.Atol, c.Rtol, c.Id);
    }

    /// <summary>
    /// Split products give the very same results whether a tile's splits share its sums or its last split adds them
    /// alone (DIFFUSER_SHARED_SPLIT_SUMS=0, the A/B switch): every row is added in split order either way.
    /// </summary>
    [Theory, InlineData("geglu_linear/17x300_to_40_splitK_f16"), InlineData("conv2d/3x4_c32k20_k3s1p1_residual_splitK_f16")]
    public void SharedSplitSumsEqualTheLastSplitsAlone(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        Assert.Equal(Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(SharedSplitSums: false))), Run(c, Emulated));
    }

    /// <summary>
    /// A channel-blocked image, copied by cp.async, gives the very results of the dense one: what a group norm writes for
    /// the convolution after it (norms in two launches, so both apply the same statistics: the one-pass norms sum in
    /// different orders), and what an upsampler's convolution (channels a multiple of 32) copies of its image and reads
    /// upsampled; the convolution sums the same products in the same order, with cp.async copies and through registers
    /// (wgmma's, opt-in, is checked against the reference with the other cases).
    /// </summary>
    [Theory, InlineData("group_norm_conv2d/1x64x8x10_g32_k9_f16"), InlineData("group_norm_conv2d/1x160x4x6_g16_k24_splitK_f16")]
    [InlineData("conv2d/3x5_c32k20_k3s1p1_upsample_residual_f16"), InlineData("conv2d/4x4_c64k140_k3s1p1_upsample_chunked_f16")]
    public void AChannelBlockedImageGivesTheDenseImagesResults(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        var expected = Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(OnePassGroupNorm: false, BlockedConvInput: false)));
        Assert.Equal(expected, Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(OnePassGroupNorm: false))));
        Assert.Equal(expected, Run(c, backends.Get(TensorCoreMode.Emulated, new KernelOptions(AsyncCopies: false, OnePassGroupNorm: false))));
    }

    /// <summary>
    /// Where a norm stores its result channel-blocked (the fp16 tensor cores' convolution reads it, channels a multiple
    /// of 32, planes of whole 8-pixel steps), and that only a convolution reads it, as its input.
    /// </summary>
    [Fact]
    public void AChannelBlockedImageIsMadeForAndReadOnlyByAConvolution()
    {
        using var x = Emulated.Allocate(new TensorShape(1, 32, 4, 6), DType.F16);
        using var gamma = Emulated.Allocate(new TensorShape(32), DType.F16);
        using var beta = Emulated.Allocate(new TensorShape(32), DType.F16);
        using var weight = Emulated.Allocate(new TensorShape(8, 32, 3, 3), DType.F16);
        using var blocked = Emulated.GroupNorm(x, 8, gamma, beta, 1e-5f, silu: true, forConvolution: true);
        Assert.Equal(TensorLayout.ChannelBlocked, blocked.Layout);
        using (var dense = Emulated.GroupNorm(x, 8, gamma, beta, 1e-5f, silu: true))
            Assert.Equal(TensorLayout.Dense, dense.Layout);
        using (var narrow = Emulated.Allocate(new TensorShape(1, 24, 4, 6), DType.F16))
        using (var gamma24 = Emulated.Allocate(new TensorShape(24), DType.F16))
        using (var normed = Emulated.GroupNorm(narrow, 8, gamma24, gamma24, 1e-5f, forConvolution: true))
            Assert.Equal(TensorLayout.Dense, normed.Layout);
        using (var x32 = Cpu.Allocate(new TensorShape(1, 32, 4, 6)))
        using (var gamma32 = Cpu.Allocate(new TensorShape(32)))
        using (var normed = Cpu.GroupNorm(x32, 8, gamma32, gamma32, 1e-5f, forConvolution: true))
            Assert.Equal(TensorLayout.Dense, normed.Layout);

        Assert.Contains("channel-blocked", Assert.Throws<DiffuserException>(() => Emulated.Add(blocked, x)).Message);
        Assert.Contains("channel-blocked", Assert.Throws<DiffuserException>(() => Emulated.Conv2d(x, weight, null, 1, Padding2d.Same(1), residual: blocked)).Message);
        Assert.Throws<DiffuserException>(() => blocked.Reshape(32, 24));
    }

    /// <summary>
    /// Dispatch: causal attention and head dims without a variant run the portable fused kernel (bit-identical to a
    /// backend without tensor cores); the others the tensor-core kernel, whose fp16 probabilities change some output bits.
    /// (Head dims above the fused kernel's limit run as GEMMs, on the tensor cores where there are any, so they are not compared.)
    /// </summary>
    [Fact]
    public void OnlyNonCausalAttentionOfSupportedHeadDimsTakesTheTensorCores()
    {
        var portable = backends.Get(TensorCoreMode.None);
        foreach (var c in OpCases.SmallHalf.Where(c => c.Family == "attention" && ((bool)c.Args!["causal"] || !HasTensorCoreVariant(c))
            && HeadDim(c) <= AttentionKernels.MaxHeadDim))
            Assert.Equal(Run(c, portable), Run(c, Emulated));
        var supported = TensorCoreCases.First(c => c.Family == "attention");
        Assert.NotEqual(Run(supported, portable), Run(supported, Emulated));
        Assert.False(FlashAttentionLauncher.Supports(new(1, 1, 8, 8, 64, 0.125f, Causal: 1)));
    }

    private static float[] Run(OpCase c, Backend backend, int seed = 1234) => c.RunOnce(backend, seed).Values;
}
