using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// cp.async (sm_80 and later): 16-byte copies from global to shared memory that bypass the registers, so a stage's
/// operands pass the SM's load/store data path once instead of twice (load, then store) and hold no registers while in
/// flight (device code, tensor-core kernels only: the shared address is relative to the base register their PTX
/// declares).
/// </summary>
public static class AsyncCopy
{
    // The copy around the name of the shared base register (CudaAsm.Emit takes constant text: one text per base).
    private const string Start = "{ .reg .u64 cp_g; .reg .u32 cp_s; cvta.to.global.u64 cp_g, %1; add.u32 cp_s, ";
    private const string End = ", %0; cp.async.cg.shared.global [cp_s], [cp_g], 16, %2; }";

    /// <summary>
    /// Starts copying the 16 bytes at <paramref name="source"/> to byte <paramref name="sharedOffset"/> of the dynamic
    /// shared memory (GEMM and convolution: <c>tc_sbase</c>, see <see cref="TensorCorePtx.Declare"/>); zeros when not
    /// <paramref name="inside"/> (then nothing is read).
    /// </summary>
    public static void Chunk(int sharedOffset, long source, bool inside) =>
        CudaAsm.Emit(Start + "tc_sbase" + End, sharedOffset, source, inside ? 16 : 0);

    /// <summary>As <see cref="Chunk"/>, in the tensor-core attention (its shared base <c>fa_sbase</c>).</summary>
    public static void AttentionChunk(int sharedOffset, long source, bool inside) =>
        CudaAsm.Emit(Start + "fa_sbase" + End, sharedOffset, source, inside ? 16 : 0);

    /// <summary>The copy done at once through the address itself (on ILGPU's CPU accelerator device memory is the process's).</summary>
    public static unsafe void AtOnce(ArrayView<Half8> shared, int slot, long source, bool inside) =>
        shared[slot] = inside ? *(Half8*)source : default;

    /// <summary>Closes a group of this thread's copies: the copies of one stage (<see cref="WaitForStage"/> counts them).</summary>
    public static void Commit()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.commit_group;");
    }

    /// <summary>
    /// Waits for this thread's copies of the stage the tensor cores read next, while the copies of the later stages, each
    /// committed as a group, run on: of copies <paramref name="stagesAhead"/> (1 or 2, a kernel constant) stages ahead,
    /// all groups but the last <paramref name="stagesAhead"/> − 1. The group's next barrier then shows them to every thread.
    /// </summary>
    public static void WaitForStage(int stagesAhead)
    {
        if (!CudaAsm.IsSupported) return;
        if (stagesAhead == 1) CudaAsm.Emit("cp.async.wait_group 0;");
        else CudaAsm.Emit("cp.async.wait_group 1;");
    }

    /// <summary>Waits for all of this thread's copies; the group's next barrier then shows them to every thread.</summary>
    public static void WaitAll()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.wait_all;");
    }
}
