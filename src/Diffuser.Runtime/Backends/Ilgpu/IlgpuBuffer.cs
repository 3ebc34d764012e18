using Diffuser.Tensors;
using ILGPU;
using ILGPU.Runtime;
using Half = ILGPU.Half;

namespace Diffuser.Backends.Ilgpu;

/// <summary>Device memory on an ILGPU accelerator: floats for fp32 tensors, ILGPU halves for fp16 ones.</summary>
internal sealed class IlgpuBuffer : DeviceBuffer
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? _floats;
    private readonly MemoryBuffer1D<Half, Stride1D.Dense>? _halves;

    public IlgpuBuffer(Accelerator accelerator, long length, DType dtype) : base(length, dtype)
    {
        // ILGPU rejects empty allocations; an empty tensor still gets a buffer of one element.
        long size = Math.Max(length, 1);
        if (dtype == DType.F32) _floats = accelerator.Allocate1D<float>(size);
        else _halves = accelerator.Allocate1D<Half>(size);
    }

    public ArrayView<float> Floats => _floats?.View ?? throw new DiffuserException($"Buffer of {Length} {DType} elements is not fp32.");

    public ArrayView<Half> Halves => _halves?.View ?? throw new DiffuserException($"Buffer of {Length} {DType} elements is not fp16.");

    public override void Dispose()
    {
        _floats?.Dispose();
        _halves?.Dispose();
    }
}
