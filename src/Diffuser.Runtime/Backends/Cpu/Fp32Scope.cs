using System.Buffers;
using Diffuser.Kernels.Elementwise;
using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

/// <summary>
/// The cpu backend's fp16 semantics, which every GPU kernel shares: each fp16 input of an op is widened exactly to a
/// temporary fp32 copy, the fp32 implementation runs unchanged, and its fp32 result is rounded to the fp16 output once
/// (round to nearest even) when the scope ends. fp32 tensors are handed out as their own memory, so fp32 ops copy nothing.
/// </summary>
internal sealed class Fp32Scope : IDisposable
{
    private readonly Tensor _output;
    private readonly List<float[]> _rented = [];

    public Fp32Scope(Tensor output)
    {
        _output = output;
        Out = output.DType == DType.F32 ? CpuBackend.Data(output) : Rent(output.Length);
    }

    /// <summary>Where the op writes its fp32 result.</summary>
    public Memory<float> Out { get; }

    /// <summary>The fp32 values of an input (empty for an absent one).</summary>
    public Memory<float> In(Tensor? t)
    {
        if (t is null) return Memory<float>.Empty;
        if (t.DType == DType.F32) return CpuBackend.Data(t);
        var values = Rent(t.Length);
        var halves = CpuBackend.HalfData(t);
        ElementwiseManaged.ForChunks(t.Length, (start, count) =>
            HalfConversion.ToSingle(halves.Span.Slice(start, count), values.Span.Slice(start, count)));
        return values;
    }

    private Memory<float> Rent(long length)
    {
        var array = ArrayPool<float>.Shared.Rent(checked((int)length));
        _rented.Add(array);
        return array.AsMemory(0, (int)length);
    }

    /// <summary>Rounds the result into an fp16 output and returns the temporaries.</summary>
    public void Dispose()
    {
        if (_output.DType == DType.F16)
        {
            var halves = CpuBackend.HalfData(_output);
            var values = Out;
            ElementwiseManaged.ForChunks(_output.Length, (start, count) =>
                HalfConversion.ToHalf(values.Span.Slice(start, count), halves.Span.Slice(start, count)));
        }
        foreach (var array in _rented) ArrayPool<float>.Shared.Return(array);
        _rented.Clear();
    }
}
