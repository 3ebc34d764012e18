using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.TensorCore;

/// <summary>Where a view's first element lies in the device's memory: found on the host and passed to a kernel, which cannot ask ILGPU for it.</summary>
public static class GlobalAddress
{
    public static long Of<T>(ArrayView<T> view) where T : unmanaged => view.Length == 0 ? 0 : view.LoadEffectiveAddressAsPtr();
}

/// <summary>The global addresses of a GEMM's A and B (<see cref="GlobalAddress"/>).</summary>
public readonly record struct OperandAddresses(long A, long B);

/// <summary>The global addresses of an attention's K and V (<see cref="GlobalAddress"/>).</summary>
public readonly record struct KeyValueAddresses(long Key, long Value);
