using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.TensorCore;
using ILGPU.Runtime.Cuda;
using System.Text.RegularExpressions;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Every kernel's PTX (as ILGPU writes it for an H100/H200) assembled by NVIDIA's ptxas for the Ampere (sm_80) and
/// Hopper (sm_90) tensor-core GPUs: the assembler accepts it, no kernel spills, keeps a stack frame or touches local memory, two groups of
/// each kernel fit a multiprocessor's 64 K registers, and every <c>mma.sync</c> of the PTX is a tensor-core HMMA in
/// the machine code, fed by <c>ldmatrix</c> (LDSM). Kernels of Hopper's warp-group instructions are assembled for
/// sm_90a alone (CUDA 12.4's ptxas, their PTX retargeted as <see cref="Sm90aKernels"/> loads it): wgmma becomes HGMMA,
/// and ptxas does not serialize them.
/// </summary>
public sealed partial class PtxasTests(PtxCompiler compiler, ITestOutputHelper output)
{
    private const int RegistersPerMultiprocessor = 64 * 1024;

    public static TheoryData<string> Kernels() => new(GpuKernelCatalog.All.Keys.Order());

    [Theory, MemberData(nameof(Kernels))]
    public async Task AssemblesWithoutSpillsAndTwoGroupsPerMultiprocessor(string name)
    {
        var kernel = GpuKernelCatalog.All[name];
        string ptx = compiler.Compile(kernel.DeclaringType!, kernel.Name, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, kernel.GetGenericArguments());
        int mma = Lines(ptx, "mma.sync.aligned.m16n8k16"), wgmma = Lines(ptx, "wgmma.mma_async");
        string[] architectures = wgmma > 0 ? ["sm_90a"] : ["sm_80", "sm_90"];
        if (wgmma > 0) ptx = Sm90aKernels.ForSm90a(ptx);
        var results = await Task.WhenAll(architectures.Select(architecture => Task.Run(() => Ptxas.Assemble(ptx, architecture))));
        foreach (var result in results)
        {
            string architecture = result.Architecture;
            output.WriteLine($"{name} {architecture}: {result.Registers} registers, {result.Count("HMMA.16816.F32")} HMMA, {result.Count("LDSM.16.M88.4") + result.Count("LDSM.16.MT88.4")} LDSM");
            Assert.Equal(0, result.StackFrameBytes);
            Assert.Equal(0, result.SpillStoreBytes + result.SpillLoadBytes);
            Assert.Equal(0, result.Count("LDL") + result.Count("STL"));   // no local memory at all in the machine code
            // Registers per group are checked on the kernels as they run: specialised ones through SpecializedKernels.
            if (GpuKernelCatalog.GroupSize(kernel) is int group && !kernel.GetParameters().Any(p => p.ParameterType.IsGenericType
                    && p.ParameterType.GetGenericTypeDefinition() == typeof(ILGPU.Runtime.SpecializedValue<>)))
                Assert.True(2 * group * result.Registers <= RegistersPerMultiprocessor, $"{result.Registers} registers × {group} threads: fewer than two groups per multiprocessor");
            Assert.Equal(mma, result.Count("HMMA.16816.F32"));
            if (mma > 0) Assert.True(result.Count("LDSM.16.M88.4") > 0, "tensor-core operands come from ldmatrix");
            if (wgmma == 0) continue;
            output.WriteLine($"{name} {architecture}: {result.Count("HGMMA")} HGMMA for {wgmma} wgmma");
            Assert.True(result.Count("HGMMA") >= wgmma, "every wgmma is an HGMMA");
            Assert.DoesNotContain("serializ", result.Report, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static int Lines(string ptx, string instruction) => ptx.Split('\n').Count(line => line.Contains(instruction, StringComparison.Ordinal));

    [Fact]
    public void CatalogHoldsTheKernelsTheLaunchersLoad()
    {
        var names = GpuKernelCatalog.All.Keys.ToHashSet();
        foreach (string kernel in new[]
                 {
                     "GemmKernels.Gemm<F16View>", "GemmKernels.Gemm<F32View>", "Conv2dKernels.Conv2d<F16View>", "NormKernels.GroupNormApply<F16View>",
                     "BlockedGroupNormKernels.GroupNormApplyBlocked<F16View>", "BlockedGroupNormKernels.GroupNormOnePassBlocked<F16View>",
                     "SpecializedKernels.TensorCoreGemm", "SpecializedKernels.TensorCoreGemmToSingle", "SpecializedKernels.TensorCoreGemmGeglu",
                     "SpecializedKernels.TensorCoreGemmFirstRows", "SpecializedKernels.TensorCoreGemmWarpGroup", "TensorCoreKernels.Conv2d<WarpGroupMma, RegisterCopies, GridDeal>", "TensorCoreKernels.Conv2d<PtxWarpMma, RegisterCopies, GridDeal>", "TensorCoreKernels.Conv2d<FirstRowsMma<PtxWarpMma>, AsyncCopies, GridDeal>",
                     "TensorCoreKernels.Conv2dBlocked<PtxWarpMma, AsyncCopies, GridDeal>", "TensorCoreKernels.Conv2dBlocked<WarpGroupMma, AsyncCopies, GridDeal>", "FlashAttentionKernels.Attention<PtxWarpAttention160, AsyncCopies>",
                     "SamplerKernels.Step", "RandomKernels.Normal", "ConvertKernels.ToHalf",
                 })
            Assert.Contains(kernel, names);
        Assert.DoesNotContain(names, n => n.Contains("Emulated", StringComparison.Ordinal) || n.Contains("FirstRowsMma<WarpGroupMma>", StringComparison.Ordinal)
            || n.StartsWith("TensorCoreKernels.Gemm<", StringComparison.Ordinal));
    }

    /// <summary>
    /// Instructions per HMMA in the main loop of each tensor-core kernel as the launchers specialise it for Stable
    /// Diffusion (ptxas 11.8, sm_90). Before lane addresses, chunk slots and patch positions were hoisted out of the
    /// loop and the divisions removed: GEMM 17.1, 3×3 convolution 33.8, 1×1 32.2, attention 48: 10.1, 64: 7.5,
    /// 80: 6.8, 160: 4.4; after: 4.7, 13.2, 12.9, 8.0, 6.5, 5.6, 3.8; with filters packed tap-major (8 channels of
    /// one tap per chunk) the convolutions 8.0 and 7.9, and with channels a multiple of 32 and the plane a kernel
    /// constant (one tap, one test and one address per stage) 4.3 and 4.3; the GEMM 3.5 with each matrix's 64-bit
    /// base found once per thread (it had been redone per chunk in the loop). The attention's K/V tile copies were
    /// loops inside the main loop (3–11 passes a tile), so its static counts understated what ran (about 10, 8.7, 8.3
    /// and 6.8 executed, from the loop sizes and trip counts); written out as one address and width/16 chunks per
    /// thread, 7.9, 6.3, 5.4 and 3.8, now all that runs (at width 48, ~50 of them only in a partial last key block);
    /// with the row sums as 4 more mma per key block instead of an add per score, 6.9, 5.5, 4.9 and 3.6 (main loops
    /// 381 → 358, 401 → 374, 432 → 409, 612 → 589 instructions). With 4 warps of 64×64 instead of 8 of 64×32 (half
    /// the ldmatrix traffic per mma, see TensorCoreLayout) a GEMM stage is 64 mma per warp: 182 instructions, 2.8 per
    /// HMMA (was 3.5); the convolutions 236, 3.7 (was 4.3); with cp.async for the 16-byte operands (64-bit source
    /// addresses, no shared stores) 188 and 246, 2.9 and 3.8, at 204 and 168 registers instead of ~240; with each copied
    /// row's address found once per thread (a copy adds its k offset: ~9 instructions a copy had gone into finding the
    /// chunk's address) 147 and 216, 2.3 and 3.4; with the copy a method of the kernel's copy type (no dead register
    /// path left beside it in the PTX) the GEMM 143. The attention's K and V by cp.async, a block's copies started
    /// before the previous block's math (two stages at widths 48–80): 364, 377, 412 and 571 instructions (were 358,
    /// 374, 409 and 589; a block's row offsets and predicates, which now overlap the math instead of waiting before
    /// it; chunks past the head dim, at width 48, are zeroed once and never copied). The bounds keep what was gained
    /// (Hopper's tensor cores want about 4). A conv_out (3 filters, <c>FirstRowsMma</c>: only the warps of rows 0–63 run
    /// mma, 8 a k16 step): 188 instructions for 16 HMMA, 11.8; its 128-pixel gather bounds it, not the tensor cores (the
    /// whole tile's kernel ran 64 HMMA a stage for it, 61 of each 64 on zero rows). With every warp past a product's
    /// rows skipping the mma (a warp-uniform test that ptxas takes out of the loop, leaving a copy of the loop with the
    /// mma and one without; a test it left inside had cost the convolution 24 instructions a stage), 162, 10.1; the
    /// others unchanged (142, 214; an upsampler's convolution 218). With three stages and cp.async two stages ahead (the
    /// stage's byte offset cycles through three, a compare and select where an xor did): 145, 217, 220 and 166. With a
    /// stage's taps outside the image read from zeros instead of clearing the 16 loaded words: 204, 208 and 152 (205,
    /// 209 and 153 since the dense and the channel-blocked convolution share their body). The convolution of a
    /// channel-blocked image (a resnet's conv1 and conv2, conv_out), whose stages are copied by cp.async as the filters'
    /// are (4 copies of 16 bytes a thread, where the dense image takes 32 two-byte loads, 16 PRMT and 4 shared stores):
    /// 157 (2.5 per HMMA), its conv_out 103 (6.4). An upsampler's convolution of its image copied channel-blocked first:
    /// 161 (2.5), where the dense image read upsampled takes 209 (3.3; 32 two-byte loads and 16 PRMT a stage).
    /// </summary>
    public static TheoryData<string, double> MainLoops() => new()
    {
        { nameof(SpecializedKernels.TensorCoreGemm), 2.3 },
        { nameof(SpecializedKernels.TensorCoreGemmToSingle), 2.3 },
        { nameof(SpecializedKernels.TensorCoreGemmGeglu), 2.3 },   // its B read in values-and-gates order: the plain GEMM's 145 instructions
        { nameof(SpecializedKernels.TensorCoreGemmFirstRows), 5.7 },   // 91 instructions for 16 HMMA: the stage's copies bound it
        { nameof(SpecializedKernels.TensorCoreConv3x3), 3.3 },
        { nameof(SpecializedKernels.TensorCoreConv1x1), 3.3 },
        { nameof(SpecializedKernels.TensorCoreConvUpsampled), 3.3 },
        { nameof(SpecializedKernels.TensorCoreConvFirstRows), 9.6 },
        { nameof(SpecializedKernels.TensorCoreConv3x3Blocked), 2.5 },
        { nameof(SpecializedKernels.TensorCoreConvFirstRowsBlocked), 6.5 },
        { nameof(SpecializedKernels.TensorCoreConvUpsampledBlocked), 2.6 },
        { nameof(SpecializedKernels.TensorCoreGemmStreamK), 2.3 },   // stream-K's main loop is the by-grid kernel's
        { nameof(SpecializedKernels.TensorCoreGemmGegluStreamK), 2.3 },
        { nameof(SpecializedKernels.TensorCoreGemmToSingleStreamK), 2.3 },
        { nameof(SpecializedKernels.TensorCoreConv3x3StreamK), 3.3 },
        { nameof(SpecializedKernels.TensorCoreConv3x3BlockedStreamK), 2.5 },
        { nameof(SpecializedKernels.Attention48), 7.1 },
        { nameof(SpecializedKernels.Attention64), 5.8 },
        { nameof(SpecializedKernels.Attention80), 5.2 },
        { nameof(SpecializedKernels.Attention160), 3.6 },
    };

    [Theory, MemberData(nameof(MainLoops))]
    public void MainLoopIssuesFewInstructionsPerMma(string name, double bound)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var loop = SassLoop.MainOf(sass);
        output.WriteLine($"{name}: {loop}");
        Assert.Equal(0, loop.Divisions);
        // No loop inside: each pass issues each instruction once (at most), so the static count is what runs.
        Assert.Contains(SassLoop.Innermost(sass), l => l.Instructions.SequenceEqual(loop.Instructions));
        Assert.True(loop.PerMma <= bound, $"{loop.PerMma:F1} instructions per HMMA, more than {bound}");
    }

    /// <summary>
    /// The mma.sync main loops copy two stages ahead (<see cref="IWarpMma.StagesAhead"/>): each stage's copies are one
    /// commit group, and a stage waits only for its own copies, leaving the next stage's running across the barrier.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemm)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3))]
    [InlineData(nameof(SpecializedKernels.TensorCoreConv3x3Blocked)), InlineData(nameof(SpecializedKernels.TensorCoreConvUpsampledBlocked))]
    public void MainLoopsLeaveTheNextStagesCopiesRunning(string name)
    {
        var loop = SassLoop.MainOf(Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass);
        var waits = loop.Instructions.Where(i => i.Contains("DEPBAR", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{name}: {string.Join("; ", waits)}");
        Assert.Equal(["DEPBAR.LE SB0, 0x1", "LDGDEPBAR"], waits);   // the wait for this stage, then the commit of the one two ahead
    }

    /// <summary>
    /// The wgmma main loops (one with both 64-row halves, one with the first alone) wait at a stage's end only for the
    /// previous stage's wgmma (<see cref="WarpGroupLayout.GroupsInFlight"/> commit groups stay running across the
    /// barrier): ptxas keeps the wait as written, not a full drain.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemmWarpGroup)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3WarpGroup))]
    [InlineData(nameof(SpecializedKernels.TensorCoreConv3x3BlockedWarpGroup))]
    public void WarpGroupMainLoopsLeaveAStageRunning(string name)
    {
        string ptx = Sm90aKernels.ForSm90a(compiler.Compile(typeof(SpecializedKernels), name));
        var loops = SassLoop.Innermost(Ptxas.Assemble(ptx, "sm_90a").Sass).Where(l => l.Count("HGMMA") > 0).ToList();
        Assert.Equal(2, loops.Count);
        foreach (var loop in loops)
        {
            output.WriteLine($"{name}: {loop.Instructions.Count} instructions, {loop.Count("HGMMA")} HGMMA");
            var waits = loop.Instructions.Where(i => i.StartsWith("WARPGROUP.DEPBAR", StringComparison.Ordinal)).ToList();
            Assert.Equal([$"WARPGROUP.DEPBAR.LE gsb0, 0x{WarpGroupLayout.GroupsInFlight}"], waits);
        }
    }

    /// <summary>
    /// The tensor-core store loops (innermost loops with global stores) as specialised for SD (bias and residual,
    /// 16-byte aligned rows), in instructions per stored element. The batch and split offsets are 64-bit products that
    /// ILGPU had moved into them, one per element: the GEMM's loop was 73, its split-K partial store 39, the
    /// convolution's partial store 38; then 52, 13 and 15; with the epilogue's flags a kernel constant (no test per
    /// element) the GEMM's 35 and the convolution's 30 (was 42); storing column pairs 25.5, 25.5 and 11.5 (plus the
    /// staging, outside those loops). Now a lane takes 8 adjacent columns (two 16-byte shared loads, one 16-byte load
    /// of the residual, one 16-byte store) and the loop is the one over the warp's 4 m16 tiles, staging included (its
    /// static count also holds the 3 staging variants a pass skips): 11.1 for both epilogues, 9.3 for partial stores;
    /// with a warp's 64 columns (4 chunks per lane and m16 tile) 10.0 for the GEMM, 10.7 for the convolution, 8.8;
    /// with the four rows' inputs loaded before their stores (<see cref="EpilogueLoadsItsRowsResidualsBeforeItStoresOne"/>)
    /// 10.3 and 10.6.
    /// The GEMM with fp32 results (composed attention's scores, no bias or residual): 6.0 (partial stores 8.8), two
    /// 16-byte stores per 8 columns (scalar stores until the fp32 view kept its 16-byte alignment through the batch's
    /// sub-view: 6.7). The conv_out on a tile's first rows (bias only): 8.2. The split-K partial sums (fp32) were
    /// stored one float at a time (8.8–9.3 per element); of 16-byte rows, in 16-byte chunks too: 4.7.
    /// </summary>
    /// <param name="residual">Whether the kernel adds a residual (read in 16-byte chunks, as the outputs are stored).</param>
    [Theory]
    [InlineData(nameof(SpecializedKernels.TensorCoreGemm), 11, true), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3), 11, true)]
    [InlineData(nameof(SpecializedKernels.TensorCoreGemmToSingle), 9, false), InlineData(nameof(SpecializedKernels.TensorCoreConvFirstRows), 11, false)]
    public void StoreLoopsStaySmall(string name, double bound, bool residual)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var stores = SassLoop.Innermost(sass).Where(l => l.Count("STG") > 0).ToList();
        output.WriteLine($"{name}: store loops of {string.Join(", ", stores.Select(l => $"{l.Instructions.Count} for {StoredElements(l)} elements"))}");
        Assert.Equal(2, stores.Count);   // the epilogue's and the split-K partial store's
        // outputs and partial sums in 16-byte chunks only, and a residual read so (beside a per-row bias, one load per row)
        Assert.All(stores.SelectMany(l => l.Instructions).Where(i => i.Contains("STG", StringComparison.Ordinal)), i => Assert.Matches(@"^(@!?P\d )?STG\.E\.128 ", i));
        if (residual) Assert.Contains(stores.SelectMany(l => l.Instructions), i => i.StartsWith("LDG.E.128 ", StringComparison.Ordinal));
        Assert.All(stores, l => Assert.True((double)l.Instructions.Count / StoredElements(l) <= bound,
            $"{l.Instructions.Count} instructions for {StoredElements(l)} elements, more than {bound} per element"));
    }

    /// <summary>
    /// A lane's epilogue rows wait on memory together: the store loop (as specialised for SD, with bias and residual)
    /// loads the residuals of the lane's four rows of an m16 tile before it stores the first. ptxas cannot move a load
    /// above a store that may alias it, and a row test around a load kept the load with the conversion that waits for
    /// it: the loads had come one after another's store, 16 waits on memory a lane in a tile, now 4.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemm)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3))]
    [InlineData(nameof(SpecializedKernels.TensorCoreConv3x3Blocked))]
    public void EpilogueLoadsItsRowsResidualsBeforeItStoresOne(string name)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var store = Assert.Single(SassLoop.Innermost(sass), l => l.Count("STG") > 0 && l.Count("LDG") > 0);
        var code = store.Instructions.ToList();
        int firstStore = code.FindIndex(i => i.Contains("STG", StringComparison.Ordinal));
        var loads = code.Select((i, at) => (i, at)).Where(x => x.i.Contains("LDG.E.128", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{name}: residual loads at {string.Join(", ", loads.Select(x => x.at))}, first store at {firstStore} of {code.Count}");
        Assert.Equal(4, loads.Count);
        Assert.All(loads, x => Assert.True(x.at < firstStore, $"a residual is loaded after a store: {x.i}"));
    }

    /// <summary>
    /// In a split product's tail, a row's residual is loaded before the splits' sums of the row (it had been loaded
    /// after them, one more wait on memory a row): the residual's 16-byte load lies between the claim of the block and
    /// the sums loop.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemm)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3))]
    public void SplitTailLoadsTheResidualBeforeTheSums(string name)
    {
        var tail = SplitTail(name);
        var residual = tail.Code.Skip(tail.Claim).Take(tail.Loop - tail.Claim).Where(i => i.Contains("LDG.E.128", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{name}: between the claim and the sums loop: {string.Join("; ", residual)}");
        Assert.Single(residual);
    }

    /// <summary>
    /// A split tile's tail in the SASS of <paramref name="name"/> (<see cref="SpecializedKernels"/>): the code, the
    /// index of its split sums loop (the one innermost loop that loads and adds and stores nothing) and the loop's
    /// length, and the last atomic before the loop (the claim of a block).
    /// </summary>
    private (List<string> Code, int Claim, int Loop, int LoopLength) SplitTail(string name)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var sums = Assert.Single(SassLoop.Innermost(sass), l => l.Count("FADD") > 0 && l.Count("LDG") > 0 && l.Count("STG") == 0);
        var code = SassLoop.Code(sass).ToList();
        int loop = Enumerable.Range(0, code.Count - sums.Instructions.Count + 1).First(i => code.Skip(i).Take(sums.Instructions.Count).SequenceEqual(sums.Instructions));
        return (code, code.FindLastIndex(loop, i => i.Contains("ATOMG", StringComparison.Ordinal)), loop, sums.Instructions.Count);
    }

    /// <summary>
    /// The splits of a split product add every split's partial sums of their tile's rows, and each round waits on
    /// L2: the loop over the splits (of 16-byte rows, as SD's are) issues 8 splits' loads, 16 bytes each, before the
    /// first sum (it had issued one split's 8 scalar loads, 60 instructions a split).
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemm)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3))]
    public void SplitSumsIssueEightSplitsLoadsAtOnce(string name)
    {
        var sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var sums = Assert.Single(SassLoop.Innermost(sass), l => l.Count("FADD") > 0 && l.Count("LDG") > 0 && l.Count("STG") == 0);
        output.WriteLine($"{name}: {sums}");
        var code = sums.Instructions.ToList();
        var loads = code.Where(i => i.Contains("LDG", StringComparison.Ordinal)).ToList();
        Assert.Equal(16, loads.Count);   // 8 splits × two 16-byte loads
        Assert.All(loads, i => Assert.Contains("LDG.E.128 ", i));
        int lastLoad = code.FindLastIndex(i => i.Contains("LDG", StringComparison.Ordinal));
        Assert.True(lastLoad < code.FindIndex(i => i.Contains("FADD", StringComparison.Ordinal)), "a sum waits before every load is issued");
    }

    /// <summary>
    /// A split product's splits claim the blocks of their tile's rows one ahead (<see cref="SplitReduction.Finish"/>):
    /// the claim's atomic is issued before the block's sums loop and its answer read after it, so that it waits on L2
    /// alongside the loop's loads. ptxas turns an atomic at an address it proves uniform into a warp-aggregated one,
    /// whose shuffle reads the answer at once; the claim's address is one it cannot prove so.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.TensorCoreGemm)), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3))]
    public void TheNextClaimWaitsAlongsideTheSums(string name)
    {
        var (code, claim, loop, length) = SplitTail(name);
        string answer = ClaimAnswer().Match(code[claim]).Groups[1].Value;
        int read = code.FindIndex(claim + 1, i => Regex.IsMatch(i, $@"\b{answer}\b"));
        output.WriteLine($"{name}: {code[claim]}; first read {read - claim} instructions on: {code[read]}; sums loop {loop - claim} – {loop + length - claim}");
        Assert.True(read > loop + length, $"the claim's answer is read before the sums loop ends: {code[read]}");
    }

    [GeneratedRegex(@"ATOMG\S* PT, (R\d+),")] private static partial Regex ClaimAnswer();

    /// <summary>
    /// The normalisations' element loops as SD runs them (fp16, 16-byte aligned, a spatial size or feature count that
    /// is a multiple of 8; GroupNorm's apply with SiLU), in instructions per element: a pass takes eight elements with
    /// one 16-byte load of x (and one store). GroupNorm's apply was 62 per pair of elements (31 per element); with
    /// eight a pass, SiLU a kernel constant instead of a test per element and the exponential as ex2.approx.ftz
    /// (MathF.Exp had added 3 subnormal-scaling instructions) 15. Its partial sums were a 2-byte load and 7
    /// instructions per element, now 5 (the two launches a group norm takes where its groups are too long for the
    /// one-pass kernel: see <see cref="GroupNormOnePassTicketLoopStaysSmall"/>).
    /// LayerNorm's apply was 25 per element, now 11 (x, gamma and beta 16 bytes at a time; its two statistics passes,
    /// unrolled 4 times by ptxas, 3.7 per element).
    /// </summary>
    [Theory]
    [InlineData(nameof(SpecializedKernels.GroupNormApply), 16), InlineData(nameof(SpecializedKernels.GroupNormPartials), 5.5)]
    [InlineData(nameof(SpecializedKernels.LayerNorm), 11.5)]
    public void NormLoopsStaySmall(string name, double bound)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var loops = SassLoop.Innermost(sass).Where(l => l.Instructions.Any(i => i.StartsWith("LDG.E.128 ", StringComparison.Ordinal))).ToList();
        // The apply loop (the one that stores), or the partial sums' only loop; eight elements per 16-byte access of x.
        var loop = loops.SingleOrDefault(l => l.Count("STG") > 0) ?? Assert.Single(loops);
        Assert.All(loop.Instructions.Where(i => i.Contains("STG", StringComparison.Ordinal)), i => Assert.StartsWith("STG.E.128 ", i));
        int elements = 8 * (loop.Count("STG") > 0 ? loop.Count("STG") : loop.Instructions.Count(i => i.StartsWith("LDG.E.128 ", StringComparison.Ordinal)));
        output.WriteLine($"{name}: {loop.Instructions.Count} instructions for {elements} elements");
        Assert.True((double)loop.Instructions.Count / elements <= bound, $"{(double)loop.Instructions.Count / elements:F1} instructions per element, more than {bound}");
    }

    /// <summary>
    /// The one-pass group norms' ticket loop (their outermost: a slice's 64 elements a thread loaded, their sums, the
    /// wait for the unit's other slices, its sums, the normalisation and the eight 16-byte stores) as SD runs them, in
    /// instructions per element: the dense one 1,470 for 64 elements (23), 1,451 with the ticket protocol shared with
    /// the blocked one, where the two launches' loops take 15 + 5.5 but move x three times instead of twice; about 28
    /// keep up with an H200's memory. The channel-blocked one 1,483 (23.2; its two launches' 12.4 + 5.5). Its sums of
    /// up to four groups a unit first took a block reduction a group (244 instructions each, four times for SD's
    /// 320-channel norms); now each thread leaves its two groups' sums in shared memory and a warp a group adds them.
    /// </summary>
    [Theory, InlineData(nameof(SpecializedKernels.GroupNormOnePass)), InlineData(nameof(SpecializedKernels.GroupNormOnePassBlocked))]
    public void GroupNormOnePassTicketLoopStaysSmall(string name)
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), name), "sm_90").Sass;
        var loop = SassLoop.All(sass).MaxBy(l => l.Instructions.Count)!;
        int elements = 8 * loop.Instructions.Count(i => i.Contains("STG.E.128 ", StringComparison.Ordinal));
        output.WriteLine($"ticket loop: {loop.Instructions.Count} instructions for {elements} elements");
        Assert.Equal(8 * NormKernels.OnePassSteps, elements);
        Assert.True((double)loop.Instructions.Count / elements <= 24, $"{(double)loop.Instructions.Count / elements:F1} instructions per element, more than 24");
    }

    /// <summary>
    /// The copy of an upsampler's image into the channel-blocked layout (<see cref="TensorCoreKernels.ToChannelBlocks"/>):
    /// a pass of its grid-stride loop loads a pixel's 8 channels (two bytes each, a plane apart) and stores them as one
    /// 16-byte block: 56 instructions a block, the division by the plane included (a copy bound by memory).
    /// </summary>
    [Fact]
    public void ChannelBlockCopyStoresABlockAtOnce()
    {
        string ptx = compiler.Compile(typeof(TensorCoreKernels), nameof(TensorCoreKernels.ToChannelBlocks), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, []);
        var loop = Assert.Single(SassLoop.All(Ptxas.Assemble(ptx, "sm_90").Sass), l => l.Count("STG") > 0);
        output.WriteLine($"ToChannelBlocks: {loop}");
        Assert.Equal(8, loop.Instructions.Count(i => i.StartsWith("LDG.E.U16 ", StringComparison.Ordinal)));
        Assert.Equal(["STG.E.128"], loop.Instructions.Where(i => i.Contains("STG", StringComparison.Ordinal)).Select(i => i.Split(' ')[0]));
    }

    /// <summary>
    /// The channel-blocked group norm's normalisation as SD runs it (fp16, SiLU) has no loop to count: from the barrier
    /// after the statistics to the end, a thread's 8 channels × 8 pixels, 8 16-byte loads of x and 8 16-byte stores
    /// (the transpose in registers). 795 instructions for 64 elements (12.4; the dense apply loop takes 15), 72 registers.
    /// </summary>
    [Fact]
    public void BlockedGroupNormApplyStaysSmall()
    {
        string sass = Ptxas.Assemble(compiler.Compile(typeof(SpecializedKernels), nameof(SpecializedKernels.GroupNormApplyBlocked)), "sm_90").Sass;
        var code = SassLoop.Code(sass);
        var normalisation = code.SkipWhile(i => !i.StartsWith("BAR.SYNC", StringComparison.Ordinal)).TakeWhile(i => i != "EXIT").ToList();
        output.WriteLine($"normalisation: {normalisation.Count} instructions for 64 elements");
        Assert.Equal(8, normalisation.Count(i => i.StartsWith("LDG.E.128 ", StringComparison.Ordinal)));
        Assert.Equal(8, normalisation.Count(i => i.StartsWith("STG.E.128 ", StringComparison.Ordinal)));
        Assert.Equal(8, normalisation.Count(i => i.Contains("STG", StringComparison.Ordinal)));
        Assert.True(normalisation.Count / 64.0 <= 13, $"{normalisation.Count / 64.0:F1} instructions per element, more than 13");
    }

    /// <summary>
    /// Elements a loop stores: a 16-byte store holds 8 halves where the loop packs fp16 (F2FP), else 4 floats (fp32
    /// outputs or partial sums); any other store one.
    /// </summary>
    private static int StoredElements(SassLoop loop)
    {
        int chunk = loop.Count("F2FP") > 0 ? 8 : 4;
        return loop.Instructions.Where(i => i.Contains("STG", StringComparison.Ordinal)).Sum(i => i.Contains("STG.E.128", StringComparison.Ordinal) ? chunk : 1);
    }

    /// <summary>
    /// ILGPU places values next to their uses, so per-thread setup (statistics, lane addresses, quotients) lands inside
    /// loops unless anchored (<c>LoopInvariant</c>); ptxas makes ~20 instructions of each integer division. No loop of
    /// the normalisations, the tensor-core attention, GEMM and convolution as specialised for SD (main loops and the
    /// column-bound epilogue stores) or the portable GEMM and convolution (stages and epilogues) holds one.
    /// </summary>
    [Theory]
    [InlineData("NormKernels.GroupNormApply<F16View>"), InlineData("NormKernels.GroupNormPartials<F16View>"), InlineData("NormKernels.GroupNormOnePass<F16View>")]
    [InlineData("BlockedGroupNormKernels.GroupNormApplyBlocked<F16View>"), InlineData("BlockedGroupNormKernels.GroupNormOnePassBlocked<F16View>")]
    [InlineData("NormKernels.LayerNorm<F16View>")]
    [InlineData("FlashAttentionKernels.Attention<PtxWarpAttention48, AsyncCopies>"), InlineData("FlashAttentionKernels.Attention<PtxWarpAttention160, RegisterCopies>")]
    [InlineData("SpecializedKernels.TensorCoreGemm"), InlineData("SpecializedKernels.TensorCoreConv3x3"), InlineData("SpecializedKernels.TensorCoreConv1x1")]
    [InlineData("SpecializedKernels.TensorCoreConvFirstRows"), InlineData("SpecializedKernels.TensorCoreConvUpsampled")]
    [InlineData("SpecializedKernels.TensorCoreConvUpsampledBlocked")]
    [InlineData("SpecializedKernels.TensorCoreGemmToSingle"), InlineData("GemmKernels.Gemm<F32View>"), InlineData("Conv2dKernels.Conv2d<F32View>")]
    public void LoopsDoNotDivide(string name)
    {
        var loops = SassLoop.All(Sass(name));
        output.WriteLine($"{name}: loops of {string.Join(", ", loops.Select(l => l.Instructions.Count))} instructions");
        Assert.NotEmpty(loops);
        Assert.All(loops, l => Assert.Equal(0, l.Divisions));
    }

    /// <summary>
    /// A stream-K kernel's loops divide no more than the by-grid kernel's, but for the loop of the group's pieces
    /// (<c>TileSchedule</c>), which holds the main loop and the epilogue's: once a piece the convolution finds its tile's
    /// pixels' images and rows (its patches' window, its epilogue's output pixel), 4 divisions against the piece's
    /// thousands of instructions; the GEMM none.
    /// </summary>
    [Theory]
    [InlineData(nameof(SpecializedKernels.TensorCoreGemmStreamK), 0), InlineData(nameof(SpecializedKernels.TensorCoreConv3x3StreamK), 4)]
    [InlineData(nameof(SpecializedKernels.TensorCoreConv3x3BlockedStreamK), 4), InlineData(nameof(SpecializedKernels.TensorCoreGemmGegluStreamK), 0)]
    [InlineData(nameof(SpecializedKernels.TensorCoreGemmToSingleStreamK), 0)]
    public void StreamKDividesOnlyOnceAPiece(string name, int pieceDivisions)
    {
        string sass = Sass($"{nameof(SpecializedKernels)}.{name}");
        var loops = SassLoop.All(sass);
        var pieces = loops.MaxBy(l => l.Instructions.Count)!;   // the loop that holds the others
        var main = SassLoop.MainOf(sass);
        output.WriteLine($"{name}: piece loop of {pieces.Instructions.Count} instructions, {pieces.Divisions} divisions; main loop {main.Instructions.Count}");
        Assert.True(pieces.Instructions.Count > main.Instructions.Count && pieces.Count("HMMA") == main.Count("HMMA"), "the main loop lies in the piece loop");
        Assert.InRange(pieces.Divisions, 0, pieceDivisions);
        Assert.All(loops.Where(l => !ReferenceEquals(l, pieces)), l => Assert.Equal(0, l.Divisions));
    }

    /// <summary>The sm_90 machine code of catalog kernel <paramref name="name"/>.</summary>
    private string Sass(string name)
    {
        var kernel = GpuKernelCatalog.All[name];
        return Ptxas.Assemble(compiler.Compile(kernel.DeclaringType!, kernel.Name, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, kernel.GetGenericArguments()), "sm_90").Sass;
    }
}
