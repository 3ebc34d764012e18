using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

/// <summary>Host memory: a float[] for fp32 tensors, a Half[] for fp16 ones.</summary>
internal sealed class CpuBuffer : DeviceBuffer
{
    public CpuBuffer(long length, DType dtype) : base(length, dtype)
    {
        if (length > Array.MaxLength) throw new DiffuserException($"A cpu tensor of {length} elements exceeds the largest array .NET allows.");
        if (dtype == DType.F32) Floats = new float[length];
        else Halves = new Half[length];
    }

    public float[]? Floats { get; }
    public Half[]? Halves { get; }

    public override void Dispose() { }
}
