using System.Runtime.InteropServices;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.IO;

/// <summary>Half-precision decoding by the reader and dtype conversion on upload to a backend, at known bit patterns.</summary>
public sealed class SafetensorsConversionTests : IDisposable
{
    private readonly Backend _backend = TestBackend.Create();

    // bfloat16 is the top half of an fp32 pattern: exact values for normals, subnormals, ±0, ±inf and NaN.
    private static readonly (ushort Bits, float Value)[] BFloat16Cases =
    [
        (0x3F80, 1f), (0xC000, -2f), (0x4049, 3.140625f), (0x3E20, 0.15625f), (0x0000, 0f), (0x8000, -0f),
        (0x7F7F, 3.3895314e38f), (0x0080, 1.1754944e-38f), (0x0001, 9.1835e-41f),
        (0x7F80, float.PositiveInfinity), (0xFF80, float.NegativeInfinity), (0x7FC0, float.NaN),
    ];

    private static readonly (ushort Bits, float Value)[] HalfCases =
    [
        (0x3C00, 1f), (0xC000, -2f), (0x3555, 0.333251953125f), (0x7BFF, 65504f), (0x0400, 6.1035156e-5f),
        (0x0001, 5.9604645e-8f), (0x8000, -0f), (0x7C00, float.PositiveInfinity), (0xFC00, float.NegativeInfinity), (0x7E00, float.NaN),
    ];

    private static SafetensorsFile OpenBits(SafetensorsDType dtype, (ushort Bits, float Value)[] cases)
    {
        ushort[] bits = cases.Select(c => c.Bits).ToArray();
        byte[] bytes = new SafetensorsWriter().AddRaw("x", dtype, [bits.Length], MemoryMarshal.AsBytes(bits.AsSpan())).ToBytes();
        return SafetensorsFile.Open(bytes, dtype.ToString());
    }

    [Fact]
    public void BFloat16DecodesExactly()
    {
        using var file = OpenBits(SafetensorsDType.BF16, BFloat16Cases);
        AssertBitsEqual(BFloat16Cases.Select(c => c.Value), file.ReadSingles("x"));
    }

    [Fact]
    public void Float16DecodesExactly()
    {
        using var file = OpenBits(SafetensorsDType.F16, HalfCases);
        AssertBitsEqual(HalfCases.Select(c => c.Value), file.ReadSingles("x"));
    }

    [Fact]
    public void HalfPrecisionUploadsConvertToEitherStorage()
    {
        foreach (var (dtype, cases) in new[] { (SafetensorsDType.BF16, BFloat16Cases), (SafetensorsDType.F16, HalfCases) })
        {
            using var file = OpenBits(dtype, cases);
            using var f32 = file.Load(_backend, "x", DType.F32);
            Assert.Equal(DType.F32, f32.DType);
            AssertBitsEqual(cases.Select(c => c.Value), f32.ToArray());
            using var f16 = file.Load(_backend, "x", DType.F16);
            Assert.Equal(DType.F16, f16.DType);
            // Every case is a value fp16 can hold except the bf16 extremes, which round to ±inf or flush to ±0.
            AssertBitsEqual(cases.Select(c => (float)(Half)c.Value), f16.ToArray());
        }
    }

    [Fact]
    public void Float32UploadToHalfRoundsToNearestEven()
    {
        float[] values = [1f + 1f / 2048, 1f + 3f / 2048, 65520f, -1e-8f, 0.1f];
        float[] expected = [1f, 1f + 1f / 512, float.PositiveInfinity, -0f, 0.0999755859375f];
        using var file = SafetensorsFile.Open(new SafetensorsWriter().Add("x", values, values.Length).ToBytes(), "f32");
        using var f16 = file.Load(_backend, "x", DType.F16);
        AssertBitsEqual(expected, f16.ToArray());
    }

    [Fact]
    public void IntegersScalarsAndEmptyTensorsUpload()
    {
        byte[] bytes = new SafetensorsWriter()
            .Add("steps", new long[] { 981, 961, 1 }, 3)
            .Add("scalar", new[] { 7.5f }, [])
            .AddRaw("mask", SafetensorsDType.BOOL, [2], [0, 1])
            .AddRaw("empty", SafetensorsDType.BF16, [0, 3], [])
            .ToBytes();
        using var file = SafetensorsFile.Open(bytes, "ints");
        using var steps = file.Load(_backend, "steps");
        Assert.Equal([981f, 961f, 1f], steps.ToArray());
        using var scalar = file.Load(_backend, "scalar");
        Assert.Equal(0, scalar.Rank);
        Assert.Equal([7.5f], scalar.ToArray());
        using var mask = file.Load(_backend, "mask");
        Assert.Equal([0f, 1f], mask.ToArray());
        using var empty = file.Load(_backend, "empty", DType.F16);
        Assert.Equal([0, 3], empty.Shape.Dims.ToArray());
        Assert.Empty(empty.ToArray());
    }

    [Fact]
    public void PartsOfATensorUploadOnTheirOwn()
    {
        float[] values = [0, 1, 2, 3, 4, 5];
        byte[] bytes = new SafetensorsWriter().Add("f32", values, 3, 2)
            .Add("f16", Array.ConvertAll(values, v => (Half)v), 3, 2).Add("i64", new long[] { 0, 1, 2, 3, 4, 5 }, 3, 2).ToBytes();
        using var file = SafetensorsFile.Open(bytes, "parts");
        foreach (var name in new[] { "f32", "f16", "i64" })
        {
            using var rows = _backend.Allocate(new TensorShape([1, 2]), DType.F32, t => file.LoadPartInto(name, 2, t));
            Assert.Equal([2f, 3f], rows.ToArray());
            using var past = _backend.Allocate(new TensorShape([2, 2]), DType.F32);
            Assert.Contains("are not inside tensor", Assert.Throws<DiffuserException>(() => file.LoadPartInto(name, 4, past)).Message);
        }
    }

    private static void AssertBitsEqual(IEnumerable<float> expected, float[] actual) =>
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits).Select(NormalizeNaN), actual.Select(BitConverter.SingleToInt32Bits).Select(NormalizeNaN));

    /// <summary>Any NaN pattern counts as NaN (payloads are not part of the contract).</summary>
    private static int NormalizeNaN(int bits) => float.IsNaN(BitConverter.Int32BitsToSingle(bits)) ? 0x7FC00000 : bits;

    public void Dispose() => _backend.Dispose();
}
