namespace Diffuser.Backends.Ilgpu;

/// <summary>How an <see cref="IlgpuBackend"/> runs fp16 GEMMs, convolutions and (non-causal, supported head dims) attention.</summary>
internal enum TensorCoreMode
{
    /// <summary>The portable fp16 kernels.</summary>
    None,
    /// <summary>mma.sync on the tensor cores (CUDA, compute capability 8.0 and later).</summary>
    Hardware,
    /// <summary>GEMM and convolution on Hopper's wgmma (compute capability 9.0, DIFFUSER_WGMMA=1), mma.sync for the rest.</summary>
    WarpGroup,
    /// <summary>The tensor-core kernels with their element-wise emulation (tests on ILGPU's CPU accelerator).</summary>
    Emulated,
    /// <summary>As <see cref="Emulated"/>, with <see cref="WarpGroup"/>'s shared layout and wgmma's emulation.</summary>
    EmulatedWarpGroup,
}
