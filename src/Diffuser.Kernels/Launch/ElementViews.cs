using Diffuser.Kernels.Convert;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// A tensor's storage as a kernel sees it: elements are loaded as fp32 and stored from fp32. Kernels are generic over
/// the view, so one kernel body serves both storage types; with <see cref="F16View"/> a kernel loads fp16 exactly,
/// computes in fp32 and rounds each result to fp16 once (round to nearest even), the cpu backend's semantics.
/// </summary>
public interface IElementView<TSelf> where TSelf : struct, IElementView<TSelf>
{
    float Load(int index);

    void Store(int index, float value);

    /// <summary>Elements index and index + 1 (index even; an fp16 view must start 4-byte aligned).</summary>
    ElementPair LoadPair(int index);

    /// <summary>Stores elements index and index + 1 (as <see cref="LoadPair"/>).</summary>
    void StorePair(int index, ElementPair pair);

    /// <summary>Elements index … index + 7 (index a multiple of 8; the view must start 16-byte aligned).</summary>
    Row8 LoadEight(int index);

    /// <summary>Stores elements index … index + 7 (as <see cref="LoadEight"/>).</summary>
    void StoreEight(int index, in Row8 values);

    /// <summary>Elements [offset, offset + length) as a view of the same kind.</summary>
    TSelf SubView(long offset, long length);

    /// <summary>
    /// As <see cref="SubView"/> for an offset and a length that are multiples of 8, keeping what the compiler knows of the
    /// view's alignment (so that <see cref="LoadEight"/> and <see cref="StoreEight"/> stay single 16-byte accesses).
    /// </summary>
    TSelf ChunkSubView(long offset, long length);
}

/// <summary>Two adjacent elements, loaded or stored together.</summary>
public readonly record struct ElementPair(float First, float Second);

/// <summary>fp32 storage: loads and stores are plain array accesses (the fp32 kernels are exactly what they were).</summary>
public readonly struct F32View(ArrayView<float> data) : IElementView<F32View>
{
    public readonly ArrayView<float> Data = data;

    public float Load(int index) => Data[index];

    public void Store(int index, float value) => Data[index] = value;

    public ElementPair LoadPair(int index) => new(Data[index], Data[index + 1]);

    public void StorePair(int index, ElementPair pair)
    {
        Data[index] = pair.First;
        Data[index + 1] = pair.Second;
    }

    /// <summary>Two 16-byte loads.</summary>
    public Row8 LoadEight(int index) => Row8.Load(Data.Cast<Float4>(), index >> 2);

    /// <summary>Two 16-byte stores.</summary>
    public void StoreEight(int index, in Row8 values) => values.Store(Data.Cast<Float4>(), index >> 2);

    public F32View SubView(long offset, long length) => new(Data.SubView(offset, length));

    /// <summary>Sub-viewed in 16-byte quads (as <see cref="F16View.ChunkSubView"/>: an offset in floats would hide the alignment).</summary>
    public F32View ChunkSubView(long offset, long length) => new(Data.Cast<Float4>().SubView(offset >> 2, length >> 2).Cast<float>());
}

/// <summary>fp16 storage as bit patterns.</summary>
public readonly struct F16View(ArrayView<ushort> bits) : IElementView<F16View>
{
    public readonly ArrayView<ushort> Bits = bits;

    /// <summary>Exact widening (cvt.f32.f16 on CUDA).</summary>
    public float Load(int index) => (float)Interop.IntAsFloat(Bits[index]);

    public void Store(int index, float value) => Bits[index] = Round(value);

    /// <summary>One 32-bit load of both halves.</summary>
    public ElementPair LoadPair(int index)
    {
        uint bits = Bits.Cast<uint>()[index >> 1];
        return new(Low(bits), High(bits));
    }

    /// <summary>One 32-bit store of both halves, each rounded once.</summary>
    public void StorePair(int index, ElementPair pair) => Bits.Cast<uint>()[index >> 1] = Round(pair.First) | (uint)Round(pair.Second) << 16;

    /// <summary>One 16-byte load of eight halves.</summary>
    public Row8 LoadEight(int index)
    {
        var h = Bits.Cast<Half8>()[index >> 3];
        return new() { V0 = Low(h.X), V1 = High(h.X), V2 = Low(h.Y), V3 = High(h.Y), V4 = Low(h.Z), V5 = High(h.Z), V6 = Low(h.W), V7 = High(h.W) };
    }

    /// <summary>One 16-byte store of eight halves, each rounded once.</summary>
    public void StoreEight(int index, in Row8 v) => Bits.Cast<Half8>()[index >> 3] =
        Half8.Pack(Round(v.V0), Round(v.V1), Round(v.V2), Round(v.V3), Round(v.V4), Round(v.V5), Round(v.V6), Round(v.V7));

    private static float Low(uint bits) => (float)Interop.IntAsFloat((ushort)bits);

    private static float High(uint bits) => (float)Interop.IntAsFloat((ushort)(bits >> 16));

    public F16View SubView(long offset, long length) => new(Bits.SubView(offset, length));

    /// <summary>Sub-viewed in 16-byte chunks: an offset in halves would hide the alignment (ILGPU then splits 16-byte accesses).</summary>
    public F16View ChunkSubView(long offset, long length) => new(Bits.Cast<Half8>().SubView(offset >> 3, length >> 3).Cast<ushort>());

    /// <summary>
    /// fp32 → fp16 bits, round to nearest even: the GPU's own conversion (cvt.rn.f16.f32), or on ILGPU's CPU
    /// accelerator, whose cast truncates, the integer rounding of <see cref="HalfBits"/>. The accelerator type is a
    /// compile-time constant of each backend, so every kernel contains one of the two.
    /// </summary>
    public static ushort Round(float value) => Accelerator.CurrentType == AcceleratorType.CPU
        ? HalfBits.FromSingle(value)
        : Interop.FloatAsInt((ILGPU.Half)value);
}
