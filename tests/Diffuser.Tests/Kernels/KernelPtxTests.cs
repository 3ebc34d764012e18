using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The hot kernels compiled to PTX for an H100/H200 (sm_90) without a GPU: the tensor-core kernels use mma.sync and
/// ldmatrix, load aligned operands 16 bytes at a time, declare their registers once and use only dynamic shared
/// memory, declared 16-byte aligned (attention on the tensor cores too, per head width); fp16 results are rounded by the hardware conversion.
/// </summary>
public sealed class KernelPtxTests(PtxCompiler compiler)
{
    private string Ptx(Type type, string name, params Type[] typeArguments) => compiler.Compile(type, name, typeArguments);

    private static int Lines(string ptx, string fragment) => ptx.Split('\n').Count(l => l.Contains(fragment, StringComparison.Ordinal));

    /// <summary>
    /// The GEMMs as the launcher specialises them for aligned operands (<see cref="SpecializedKernels"/>): unspecialised,
    /// which view a GEMM operand reads is a run-time choice, through which ILGPU's alignment analysis may lose the 16-byte
    /// chunks' view (it did once the kernel's body became a loop over pieces; no launch compiles it so).
    /// </summary>
    /// <param name="singleOutput">The GEMM that stores fp32 (composed attention's scores); else fp16.</param>
    [Theory, InlineData(nameof(TensorCoreKernels.Gemm), true, false), InlineData(nameof(TensorCoreKernels.Conv2d), true, false),
     InlineData(nameof(TensorCoreKernels.Gemm), false, false), InlineData(nameof(TensorCoreKernels.Conv2d), false, false),
     InlineData(nameof(TensorCoreKernels.Gemm), true, true)]
    public void TensorCoreKernelsUseMmaAndLdmatrixWithVectorLoads(string kernel, bool asyncCopies, bool singleOutput)
    {
        string gemm = singleOutput ? nameof(SpecializedKernels.TensorCoreGemmToSingle)
            : asyncCopies ? nameof(SpecializedKernels.TensorCoreGemm) : nameof(SpecializedKernels.TensorCoreGemmRegisterCopies);
        string ptx = kernel == nameof(TensorCoreKernels.Gemm) ? Ptx(typeof(SpecializedKernels), gemm)
            : Ptx(typeof(TensorCoreKernels), kernel, typeof(PtxWarpMma), asyncCopies ? typeof(AsyncCopies) : typeof(RegisterCopies), typeof(GridDeal));
        Assert.True(Lines(ptx, "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") >= 64, "two k16 steps of 32 mma per stage");
        Assert.True(Lines(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16") >= 16);
        if (!asyncCopies || kernel == nameof(TensorCoreKernels.Conv2d))
        {
            // What goes through registers (operands without cp.async; the convolution's gathered image either way).
            Assert.True(Lines(ptx, "ld.global.v4.b32") >= 2, "aligned k-contiguous operands load 8 halves at once");
            Assert.True(Lines(ptx, "st.shared.v4.b32") >= 2, "chunks go to shared memory 16 bytes at a time");
        }
        if (asyncCopies)
        {
            // Operands with 16-byte rows are copied global → shared by cp.async two stages ahead, a commit group a
            // stage; before each stage's barrier all but the last group are waited for, after the main loop all.
            Assert.True(Lines(ptx, "cp.async.cg.shared.global [cp_s], [cp_g], 16, ") >= 4, "a thread copies 4 chunks of each such operand per stage");
            Assert.True(Lines(ptx, "cp.async.commit_group;") >= 2, "the first stages' copies and each stage's");
            Assert.True(Lines(ptx, "cp.async.wait_group 1;") >= 1);
            Assert.True(Lines(ptx, "cp.async.wait_all;") >= 1);
        }
        else Assert.Equal(0, Lines(ptx, "cp.async"));   // the fallback touches no cp.async at all
        Assert.Equal(1, Lines(ptx, ".reg .f32 tcc_000"));
        Assert.Contains(".extern .shared .align 16 .b8 __dyn_shared_alloca[]", ptx);   // ldmatrix and v4 stores need 16-byte rows
        Assert.DoesNotContain("__shared_alloca", ptx);   // static shared memory would move the dynamic block the PTX addresses
        Assert.Equal(0, Lines(ptx, ".local"));
        if (singleOutput) Assert.DoesNotContain("cvt.rn.f16.f32", ptx);   // nothing rounded
        else Assert.Contains("cvt.rn.f16.f32", ptx);
    }

    public static TheoryData<int, bool> AttentionVariants()
    {
        var data = new TheoryData<int, bool>();
        foreach (int width in FlashAttentionLayout.Widths)
        {
            data.Add(width, true);
            data.Add(width, false);
        }
        return data;
    }

    [Theory, MemberData(nameof(AttentionVariants))]
    public void TensorCoreAttentionUsesMmaAndLdmatrixInRegisters(int width, bool asyncCopies)
    {
        var variant = typeof(FlashAttentionKernels).Assembly.GetType($"{typeof(FlashAttentionKernels).Namespace}.PtxWarpAttention{width}")!;
        string ptx = Ptx(typeof(FlashAttentionKernels), nameof(FlashAttentionKernels.Attention), variant, asyncCopies ? typeof(AsyncCopies) : typeof(RegisterCopies));
        const string mma = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32";
        Assert.Equal(8 * width / 16 + 4 * width / 8 + 4, Lines(ptx, mma));   // per key block: S = Q·Kᵀ, then O += P·V and the row sums
        Assert.Equal(width / 16 + 4 * width / 16, Lines(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));   // Q once, K per block
        Assert.Equal(4 * width / 16, Lines(ptx, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
        Assert.Equal(1, Lines(ptx, ".reg .f32 fa_s0_0"));
        Assert.Contains("ex2.approx.ftz.f32", ptx);
        Assert.Contains("shfl.sync.bfly.b32", ptx);
        Assert.Contains(".extern .shared .align 16 .b8 __dyn_shared_alloca[]", ptx);   // ldmatrix and v4 stores need 16-byte rows
        Assert.DoesNotContain("__shared_alloca", ptx);
        Assert.True(Lines(ptx, "ld.global.v4.b32") >= 1, "an aligned Q tile loads 8 halves at once");
        // K and V: width/16 chunks a thread and tile, by cp.async where the kernel starts a block's copies (once
        // before the loop with two stages), else through registers; Q always through registers. Unspecialised, the
        // kernel holds both chunk copies (the head dim filling the width or not).
        int copies = 2 * 2 * (width / 16) * (FlashAttentionLayout.Stages(width) == 2 ? 2 : 1);
        if (asyncCopies)
        {
            Assert.Equal(copies, Lines(ptx, "cp.async.cg.shared.global [cp_s], [cp_g], 16, "));
            Assert.Contains("add.u32 cp_s, fa_sbase, ", ptx);
            Assert.Equal(1, Lines(ptx, "cp.async.wait_all;"));
        }
        else Assert.Equal(0, Lines(ptx, "cp.async"));
        Assert.Equal(0, Lines(ptx, ".local"));
        Assert.Contains("cvt.rn.f16.f32", ptx);
    }

    public static TheoryData<string, string> HotKernels() => new()
    {
        { nameof(GemmKernels), nameof(GemmKernels.Gemm) },
        { nameof(Conv2dKernels), nameof(Conv2dKernels.Conv2d) },
        { nameof(AttentionKernels), nameof(AttentionKernels.Attention) },
        { nameof(NormKernels), nameof(NormKernels.GroupNormPartials) },
        { nameof(NormKernels), nameof(NormKernels.GroupNormApply) },
        { nameof(BlockedGroupNormKernels), nameof(BlockedGroupNormKernels.GroupNormApplyBlocked) },
        { nameof(BlockedGroupNormKernels), nameof(BlockedGroupNormKernels.GroupNormOnePassBlocked) },
        { nameof(NormKernels), nameof(NormKernels.LayerNorm) },
    };

    /// <summary>
    /// The fp16 instantiation of each portable hot kernel (the fp32 one is the same code with plain loads and stores).
    /// Local memory is checked in the machine code (<see cref="PtxasTests"/>): an inline-asm output (GroupNorm's
    /// reciprocal) declares a local slot in the PTX that ptxas keeps in a register.
    /// </summary>
    [Theory, MemberData(nameof(HotKernels))]
    public void HotKernelsConvertHalvesInHardware(string type, string kernel)
    {
        var kernels = new[] { typeof(GemmKernels), typeof(Conv2dKernels), typeof(AttentionKernels), typeof(NormKernels), typeof(BlockedGroupNormKernels) }.Single(t => t.Name == type);
        string ptx = Ptx(kernels, kernel, typeof(F16View));
        if (kernel != nameof(NormKernels.GroupNormPartials)) Assert.Contains("cvt.rn.f16.f32", ptx);
        Assert.Contains("cvt.f32.f16", ptx);
    }
}
