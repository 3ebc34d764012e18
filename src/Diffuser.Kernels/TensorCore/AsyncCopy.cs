using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// cp.async (sm_80 and later): 16-byte copies from global to shared memory that bypass the registers, so a stage's
/// operands pass the SM's load/store data path once instead of twice (load, then store) and hold no registers while in
/// flight (device code, tensor-core kernels only: the shared address is relative to <c>tc_sbase</c>, which
/// <see cref="TensorCorePtx.Declare"/> declares).
/// </summary>
public static class AsyncCopy
{
    /// <summary>Starts copying the 16 bytes at <paramref name="source"/> to byte <paramref name="sharedOffset"/> of the dynamic shared memory; zeros when not <paramref name="inside"/> (then nothing is read).</summary>
    public static void Chunk(int sharedOffset, long source, bool inside) => CudaAsm.Emit(
        "{ .reg .u64 cp_g; .reg .u32 cp_s; cvta.to.global.u64 cp_g, %1; add.u32 cp_s, tc_sbase, %0; cp.async.cg.shared.global [cp_s], [cp_g], 16, %2; }",
        sharedOffset, source, inside ? 16 : 0);

    /// <summary>Waits for this thread's copies; the group's next barrier then shows them to every thread.</summary>
    public static void WaitAll()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.wait_all;");
    }
}
