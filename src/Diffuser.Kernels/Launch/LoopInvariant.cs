using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// Anchors a per-thread value where it is computed (device code). ILGPU's code placement moves side-effect-free values
/// next to their uses, which puts lane-address arithmetic computed once before a loop back into the loop body. On
/// CUDA the value is also handed to an inline PTX comment, which ILGPU never moves: the value must be computed before
/// it, and the loop only reads the register. Elsewhere nothing happens.
/// </summary>
public static class LoopInvariant
{
    public static T Keep<T>(T value) where T : unmanaged
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("// loop invariant %0", value);
        return value;
    }
}
