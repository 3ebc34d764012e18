using System.Buffers.Binary;
using System.Text;
using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.IO;

/// <summary>Writer → file → reader for every dtype and shape kind (scalars, zero-size), and the writer's guarantees.</summary>
public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static readonly int[][] Shapes = [[], [0], [3, 0, 2], [5], [2, 3], [1, 2, 1, 3]];

    public static TheoryData<SafetensorsDType> DTypes() => new(Enum.GetValues<SafetensorsDType>());

    [Theory, MemberData(nameof(DTypes))]
    public void EveryDTypeAndShapeRoundTrips(SafetensorsDType dtype)
    {
        var rng = new Random(1234 + (int)dtype);
        var writer = new SafetensorsWriter().AddMetadata("format", "pt").AddMetadata("note", "ünïcode ✓");
        var expected = new Dictionary<string, (int[] Shape, byte[] Bytes)>();
        foreach (var shape in Shapes)
        {
            string name = $"t{expected.Count}.{dtype}";
            byte[] bytes = RandomValues(dtype, shape.Aggregate(1, (a, d) => a * d), rng);
            writer.AddRaw(name, dtype, shape, bytes);
            expected[name] = (shape, bytes);
        }
        string path = _dir.File($"{dtype}.safetensors");
        writer.Save(path);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expected.Keys, file.Tensors.Select(t => t.Name));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ünïcode ✓", file.Metadata["note"]);
        foreach (var (name, (shape, bytes)) in expected)
        {
            var info = file.GetInfo(name);
            Assert.Equal(dtype, info.DType);
            Assert.Equal(shape, info.Shape);
            Assert.Equal(bytes.Length / dtype.SizeInBytes(), info.ElementCount);
            Assert.Equal(bytes, file.GetBytes(info).ToArray());
            Assert.Equal(ExpectedSingles(dtype, bytes), file.ReadSingles(name));
            if (dtype.IsInteger()) Assert.Equal(ExpectedInt64(dtype, bytes), file.ReadInt64(name));
        }
    }

    [Fact]
    public void TypedOverloadsWriteTheirDTypes()
    {
        byte[] bytes = new SafetensorsWriter()
            .Add("f32", new[] { 1.5f, -2f }, 2)
            .Add("f16", new[] { (Half)0.5f }, 1)
            .Add("i64", new[] { long.MinValue, long.MaxValue }, 2, 1)
            .Add("i32", new[] { -7 }, [])
            .Add("u8", new byte[] { 255, 0, 1 }, 3)
            .ToBytes();
        using var file = SafetensorsFile.Open(bytes, "typed");
        Assert.Equal([SafetensorsDType.F32, SafetensorsDType.F16, SafetensorsDType.I64, SafetensorsDType.I32, SafetensorsDType.U8],
            file.Tensors.Select(t => t.DType));
        Assert.Equal([1.5f, -2f], file.ReadSingles("f32"));
        Assert.Equal([0.5f], file.ReadSingles("f16"));
        Assert.Equal([long.MinValue, long.MaxValue], file.ReadInt64("i64"));
        Assert.Equal([-7L], file.ReadInt64("i32"));
        Assert.Empty(file.GetInfo("i32").Shape);
        Assert.Equal([255L, 0L, 1L], file.ReadInt64("u8"));
    }

    [Fact]
    public void HeaderIsPaddedAndEveryTensorAligned()
    {
        var writer = new SafetensorsWriter();
        // Odd sizes in mixed order: without the writer's layout, the F64 and F32 tensors would start misaligned.
        writer.AddRaw("u8", SafetensorsDType.U8, [3], new byte[3]);
        writer.AddRaw("f16", SafetensorsDType.F16, [1], new byte[2]);
        writer.AddRaw("f32", SafetensorsDType.F32, [3], new byte[12]);
        writer.AddRaw("f64", SafetensorsDType.F64, [1], new byte[8]);
        writer.AddRaw("bool", SafetensorsDType.BOOL, [1], [1]);
        byte[] bytes = writer.ToBytes();
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, headerLength % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.EndsWith("}", header.TrimEnd(' '));
        Assert.InRange(header.Length - header.TrimEnd(' ').Length, 0, 7);
        using var file = SafetensorsFile.Open(bytes, "aligned");
        Assert.Equal(["u8", "f16", "f32", "f64", "bool"], file.Tensors.Select(t => t.Name));
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Begin % t.DType.SizeInBytes()));
    }

    [Fact]
    public void EmptyWriterMakesAValidEmptyFile()
    {
        byte[] bytes = new SafetensorsWriter().ToBytes();
        Assert.Equal(16, bytes.Length);
        using var file = SafetensorsFile.Open(bytes, "empty");
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void SaveReplacesAtomicallyAndLeavesNoTemporaryFiles()
    {
        string path = _dir.File("model.safetensors");
        new SafetensorsWriter().Add("a", new[] { 1f }, 1).Save(path);
        new SafetensorsWriter().Add("b", new[] { 2f, 3f }, 2).Save(path);
        using (var file = SafetensorsFile.Open(path))
            Assert.Equal([2f, 3f], file.ReadSingles("b"));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));

        byte[] before = File.ReadAllBytes(path);
        var e = Assert.Throws<DiffuserException>(() => new SafetensorsWriter().Add("c", new[] { 4f }, 1).Save(path, overwrite: false));
        Assert.Contains(path, e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir.Path));

        string nowhere = Path.Combine(_dir.Path, "missing", "x.safetensors");
        Assert.Contains(nowhere, Assert.Throws<DiffuserException>(() => new SafetensorsWriter().Save(nowhere)).Message);
    }

    [Fact]
    public void WriterRefusesBadTensors()
    {
        var writer = new SafetensorsWriter().Add("a", new[] { 1f }, 1);
        Assert.Contains("'a'", Assert.Throws<DiffuserException>(() => writer.Add("a", new[] { 1f }, 1)).Message);
        Assert.Contains("__metadata__", Assert.Throws<DiffuserException>(() => writer.Add("__metadata__", new[] { 1f }, 1)).Message);
        Assert.Contains("needs 8", Assert.Throws<DiffuserException>(() => writer.Add("b", new[] { 1f }, 2)).Message);
        Assert.Contains("negative", Assert.Throws<DiffuserException>(() => writer.AddRaw("c", SafetensorsDType.U8, [-1, -1], [1])).Message);
        Assert.Contains("overflows", Assert.Throws<DiffuserException>(() =>
            writer.AddRaw("d", SafetensorsDType.F64, [int.MaxValue, int.MaxValue, int.MaxValue], [])).Message);
    }

    private static byte[] RandomValues(SafetensorsDType dtype, int count, Random rng)
    {
        var bytes = new byte[count * dtype.SizeInBytes()];
        rng.NextBytes(bytes);
        for (int i = 0; i < count; i++)
        {
            // Keep floats finite (NaN != NaN would defeat equality) and BOOL at 0/1 as torch writes it.
            if (dtype == SafetensorsDType.BOOL) bytes[i] &= 1;
            if (dtype is SafetensorsDType.F16 or SafetensorsDType.BF16) bytes[2 * i + 1] &= 0x3F;
            if (dtype == SafetensorsDType.F32) bytes[4 * i + 3] &= 0x3F;
            if (dtype == SafetensorsDType.F64) bytes[8 * i + 7] &= 0x3F;
            if (dtype == SafetensorsDType.U64) bytes[8 * i + 7] &= 0x7F;
        }
        return bytes;
    }

    /// <summary>The values as fp32, decoded here independently of the reader.</summary>
    private static float[] ExpectedSingles(SafetensorsDType dtype, byte[] b)
    {
        int n = b.Length / dtype.SizeInBytes();
        return Enumerable.Range(0, n).Select(i => dtype switch
        {
            SafetensorsDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(4 * i)),
            SafetensorsDType.F64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(8 * i)),
            SafetensorsDType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b.AsSpan(2 * i)),
            SafetensorsDType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2 * i)) << 16),
            _ => (float)ExpectedInt64(dtype, b)[i],
        }).ToArray();
    }

    private static long[] ExpectedInt64(SafetensorsDType dtype, byte[] b)
    {
        int n = b.Length / dtype.SizeInBytes();
        return Enumerable.Range(0, n).Select(i => dtype switch
        {
            SafetensorsDType.BOOL => b[i] == 0 ? 0L : 1L,
            SafetensorsDType.U8 => b[i],
            SafetensorsDType.I8 => (sbyte)b[i],
            SafetensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(2 * i)),
            SafetensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2 * i)),
            SafetensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * i)),
            SafetensorsDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4 * i)),
            SafetensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8 * i)),
            SafetensorsDType.U64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8 * i)),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        }).ToArray();
    }

    public void Dispose() => _dir.Dispose();
}
