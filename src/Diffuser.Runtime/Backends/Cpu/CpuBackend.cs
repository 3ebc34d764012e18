using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

/// <summary>
/// The managed backend: every op runs the reference implementation from Diffuser.Kernels (SIMD dot products,
/// Parallel.For). It is the oracle the ILGPU kernels are tested against, and the device for users without a GPU.
/// fp16 ops compute as their fp32 reference (<see cref="Fp32Scope"/>): inputs widened, fp32 arithmetic, one rounding.
/// </summary>
public sealed partial class CpuBackend : Backend
{
    public override string Name => "cpu";

    public override DeviceInfo Device { get; } = new("cpu", $"{Environment.ProcessorCount}-core managed CPU",
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, 1, $".NET {Environment.Version}, SIMD width {System.Numerics.Vector<float>.Count}");

    public override void Synchronize() { }

    protected override DeviceBuffer AllocateBuffer(long length, DType dtype) => new CpuBuffer(length, dtype);

    /// <summary>The fp32 elements of a tensor (a slice of its buffer).</summary>
    internal static Memory<float> Data(Tensor t)
    {
        var floats = ((CpuBuffer)t.Buffer).Floats ?? throw new DiffuserException($"{t} is not fp32.");
        return floats.AsMemory((int)t.Offset, (int)t.Length);
    }

    internal static Memory<Half> HalfData(Tensor t) =>
        (((CpuBuffer)t.Buffer).Halves ?? throw new DiffuserException($"{t} is not fp16.")).AsMemory((int)t.Offset, (int)t.Length);

    private static Memory<float> DataOrEmpty(Tensor? t) => t is null ? Memory<float>.Empty : Data(t);

    protected override void UploadCore(ReadOnlySpan<float> source, Tensor destination)
    {
        if (destination.DType == DType.F32) source.CopyTo(Data(destination).Span);
        else HalfConversion.ToHalf(source, HalfData(destination).Span);
    }

    protected override void UploadCore(ReadOnlySpan<Half> source, Tensor destination)
    {
        if (destination.DType == DType.F16) source.CopyTo(HalfData(destination).Span);
        else HalfConversion.ToSingle(source, Data(destination).Span);
    }

    protected override void DownloadCore(Tensor source, Span<float> destination)
    {
        if (source.DType == DType.F32) Data(source).Span.CopyTo(destination);
        else HalfConversion.ToSingle(HalfData(source).Span, destination);
    }

    protected override void ConvertCore(Tensor x, Tensor y)
    {
        switch (x.DType, y.DType)
        {
            case (DType.F32, DType.F32): Data(x).CopyTo(Data(y)); break;
            case (DType.F16, DType.F16): HalfData(x).CopyTo(HalfData(y)); break;
            case (DType.F32, DType.F16): HalfConversion.ToHalf(Data(x).Span, HalfData(y).Span); break;
            default: HalfConversion.ToSingle(HalfData(x).Span, Data(y).Span); break;
        }
    }
}
