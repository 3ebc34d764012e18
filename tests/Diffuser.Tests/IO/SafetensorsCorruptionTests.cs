using System.Text;
using Diffuser.IO;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Tests.IO.SafetensorsBytes;

namespace Diffuser.Tests.IO;

/// <summary>
/// Every class of corrupt safetensors file, built byte by byte and written to disk: opening it throws a
/// <see cref="SafetensorsException"/> of that class whose message names the file and, where there is one, the tensor.
/// </summary>
public sealed class SafetensorsCorruptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private sealed record Case(SafetensorsError Error, string? Tensor, Func<byte[]> Bytes);

    private static readonly string W8 = Entry("F32", "[2]", "[0,8]");
    private static readonly string Deep = new string('[', 40) + new string(']', 40);

    /// <summary>Each case: the class it must be reported as, the tensor the message must name, the file's bytes.</summary>
    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["empty file"] = new(SafetensorsError.FileTooSmall, null, () => []),
        ["seven bytes"] = new(SafetensorsError.FileTooSmall, null, () => [2, 0, 0, 0, 0, 0, 0]),
        ["header length past the end"] = new(SafetensorsError.HeaderLengthOutOfRange, null, () => Build(1000, "{}"u8.ToArray(), new byte[6])),
        ["header length 2^64-1"] = new(SafetensorsError.HeaderLengthOutOfRange, null, () => Build(ulong.MaxValue, "{}"u8.ToArray(), [])),
        ["invalid UTF-8 byte"] = new(SafetensorsError.HeaderNotUtf8, null, () => Build([.. "{\"w"u8, 0xFF, .. Encoding.UTF8.GetBytes("\":" + W8 + "}")], 8)),
        ["lone surrogate in a name"] = new(SafetensorsError.HeaderNotUtf8, null, () => Build($$"""{"\ud800":{{W8}}}""", 8)),
        ["lone surrogate in a dtype"] = new(SafetensorsError.HeaderNotUtf8, "w", () => Build("""{"w":{"dtype":"\udc00","shape":[2],"data_offsets":[0,8]}}""", 8)),
        ["empty header"] = new(SafetensorsError.HeaderNotJson, null, () => Build("", 0)),
        ["truncated JSON"] = new(SafetensorsError.HeaderNotJson, "w", () => Build("""{"w":{"dtype":"F32","sha""", 8)),
        ["trailing garbage"] = new(SafetensorsError.HeaderNotJson, null, () => Build($$"""{"w":{{W8}}} x""", 8)),
        ["NUL padding"] = new(SafetensorsError.HeaderNotJson, null, () => Build($$"""{"w":{{W8}}}""" + "\0\0\0", 8)),
        ["deep nesting in an entry"] = new(SafetensorsError.HeaderTooDeep, "w", () => Build("""{"w":{"extra":""" + Deep + ""","dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8)),
        ["array header"] = new(SafetensorsError.HeaderNotObject, null, () => Build("[1, 2]", 0)),
        ["string header"] = new(SafetensorsError.HeaderNotObject, null, () => Build("\"w\"", 0)),
        ["metadata value a number"] = new(SafetensorsError.InvalidMetadata, null, () => Build("""{"__metadata__":{"format":1}}""", 0)),
        ["metadata an array"] = new(SafetensorsError.InvalidMetadata, null, () => Build("""{"__metadata__":["pt"]}""", 0)),
        ["metadata twice"] = new(SafetensorsError.InvalidMetadata, null, () => Build("""{"__metadata__":{},"__metadata__":{}}""", 0)),
        ["metadata key twice"] = new(SafetensorsError.InvalidMetadata, null, () => Build("""{"__metadata__":{"a":"1","a":"2"}}""", 0)),
        ["entry a number"] = new(SafetensorsError.InvalidTensorEntry, "w", () => Build("""{"w":8}""", 8)),
        ["entry lacks dtype"] = new(SafetensorsError.InvalidTensorEntry, "w", () => Build("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", 8)),
        ["entry lacks data_offsets"] = new(SafetensorsError.InvalidTensorEntry, "w", () => Build("""{"w":{"dtype":"F32","shape":[2]}}""", 8)),
        ["dtype given twice"] = new(SafetensorsError.InvalidTensorEntry, "w", () => Build("""{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}""", 8)),
        ["duplicate tensor"] = new(SafetensorsError.DuplicateTensor, "w", () => Build($$"""{"w":{{W8}},"w":{{W8}}}""", 8)),
        ["unknown dtype"] = new(SafetensorsError.UnknownDType, "w", () => Build($$"""{"w":{{Entry("F33", "[2]", "[0,8]")}}}""", 8)),
        ["lower-case dtype"] = new(SafetensorsError.UnknownDType, "w", () => Build($$"""{"w":{{Entry("f32", "[2]", "[0,8]")}}}""", 8)),
        ["numeric dtype"] = new(SafetensorsError.UnknownDType, "w", () => Build("""{"w":{"dtype":11,"shape":[2],"data_offsets":[0,8]}}""", 8)),
        ["negative dimension"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F32", "[-2]", "[0,8]")}}}""", 8)),
        ["fractional dimension"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F32", "[2.0]", "[0,8]")}}}""", 8)),
        ["dimension over 2^31-1"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F32", "[2147483648]", "[0,8]")}}}""", 8)),
        ["shape not an array"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F32", "2", "[0,8]")}}}""", 8)),
        ["nested shape"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F32", "[[2]]", "[0,8]")}}}""", 8)),
        ["shape size overflows"] = new(SafetensorsError.InvalidShape, "w", () => Build($$"""{"w":{{Entry("F64", "[2147483647,2147483647,2147483647]", "[0,8]")}}}""", 8)),
        ["offsets reversed"] = new(SafetensorsError.InvalidOffsets, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[8,0]")}}}""", 8)),
        ["three offsets"] = new(SafetensorsError.InvalidOffsets, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[0,8,8]")}}}""", 8)),
        ["one offset"] = new(SafetensorsError.InvalidOffsets, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[8]")}}}""", 8)),
        ["negative offset"] = new(SafetensorsError.InvalidOffsets, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[-8,0]")}}}""", 8)),
        ["string offsets"] = new(SafetensorsError.InvalidOffsets, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[\"0\",\"8\"]")}}}""", 8)),
        ["offsets past the data"] = new(SafetensorsError.OffsetOutOfRange, "w", () => Build($$"""{"w":{{W8}}}""", 4)),
        ["offsets near 2^64"] = new(SafetensorsError.OffsetOutOfRange, "w", () => Build($$"""{"w":{{Entry("F32", "[2]", "[18446744073709551607,18446744073709551615]")}}}""", 8)),
        ["shape larger than offsets"] = new(SafetensorsError.SizeMismatch, "w", () => Build($$"""{"w":{{Entry("F32", "[3]", "[0,8]")}}}""", 8)),
        ["scalar with two elements of bytes"] = new(SafetensorsError.SizeMismatch, "w", () => Build($$"""{"w":{{Entry("F32", "[]", "[0,8]")}}}""", 8)),
        ["zero-size tensor with bytes"] = new(SafetensorsError.SizeMismatch, "w", () => Build($$"""{"w":{{Entry("F32", "[0,2]", "[0,8]")}}}""", 8)),
        ["overlapping tensors"] = new(SafetensorsError.OverlappingTensors, "b", () => Build($$"""{"a":{{W8}},"b":{{Entry("F32", "[2]", "[4,12]")}}}""", 12)),
        ["empty tensor inside another"] = new(SafetensorsError.OverlappingTensors, "z", () => Build($$"""{"a":{{W8}},"z":{{Entry("F32", "[0]", "[4,4]")}}}""", 8)),
        ["hole between tensors"] = new(SafetensorsError.UncoveredBytes, "b", () => Build($$"""{"a":{{Entry("F32", "[1]", "[0,4]")}},"b":{{Entry("F32", "[1]", "[8,12]")}}}""", 12)),
        ["bytes after the last tensor"] = new(SafetensorsError.UncoveredBytes, null, () => Build($$"""{"a":{{Entry("F32", "[1]", "[0,4]")}}}""", 8)),
        ["data but no tensors"] = new(SafetensorsError.UncoveredBytes, null, () => Build("{}", 8)),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory, MemberData(nameof(CaseNames))]
    public void CorruptFileReportsItsClass(string name)
    {
        var c = Cases[name];
        string path = _dir.Write("bad.safetensors", c.Bytes());
        AssertError(c.Error, path, c.Tensor, () => SafetensorsFile.Open(path).Dispose());
    }

    [Fact]
    public void InMemoryBuffersReportTheSameClassesUnderTheirName()
    {
        foreach (var (name, c) in Cases)
            AssertError(c.Error, $"memory:{name}", c.Tensor, () => SafetensorsFile.Open(c.Bytes(), $"memory:{name}").Dispose());
    }

    [Fact]
    public void MissingFileAndDirectoryAreFileNotFound()
    {
        string missing = _dir.File("missing.safetensors");
        AssertError(SafetensorsError.FileNotFound, missing, null, () => SafetensorsFile.Open(missing));
        AssertError(SafetensorsError.FileNotFound, _dir.Path, null, () => SafetensorsFile.Open(_dir.Path));
    }

    [Fact]
    public void LockedFileIsUnreadable()
    {
        string path = _dir.Write("locked.safetensors", Build("{}", 0));
        // .NET enforces FileShare on Unix too (advisory locks), for root as for anyone: the reader cannot open it.
        using var exclusive = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        AssertError(SafetensorsError.FileUnreadable, path, null, () => SafetensorsFile.Open(path));
    }

    [Fact]
    public void HeaderOverTheLimitIsTooLarge()
    {
        // A sparse file: 100 MB + 1 of header that is never written, so no disk is used and no byte of it is read.
        string path = _dir.File("huge-header.safetensors");
        WriteSparse(path, 100_000_001, [], 8 + 100_000_001);
        AssertError(SafetensorsError.HeaderTooLarge, path, null, () => SafetensorsFile.Open(path));
    }

    [Fact]
    public void TensorBeyondArrayLimitsIsTooLargeToRead()
    {
        // A valid, sparse 2 GiB U8 tensor: it opens (nothing is read on open) but cannot become one array or span.
        string path = _dir.File("huge-tensor.safetensors");
        byte[] header = Encoding.UTF8.GetBytes($$"""{"big":{{Entry("U8", "[2,1073741824]", "[0,2147483648]")}}}""");
        WriteSparse(path, (ulong)header.Length, header, 8 + header.Length + 2147483648L);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(2147483648L, file.GetInfo("big").ElementCount);
        AssertError(SafetensorsError.TensorTooLarge, path, "big", () => file.ReadSingles("big"));
        AssertError(SafetensorsError.TensorTooLarge, path, "big", () => { _ = file.GetBytes(file.GetInfo("big")).Length; });
    }

    [Fact]
    public void MissingTensorAndWrongReadAreNamed()
    {
        byte[] header = Encoding.UTF8.GetBytes($$"""{"w":{{W8}},"u":{{Entry("U64", "[1]", "[8,16]")}}}""");
        byte[] data = new byte[16];
        Array.Fill(data, (byte)0xFF, 8, 8);
        string path = _dir.Write("ok.safetensors", Build((ulong)header.Length, header, data));
        using var file = SafetensorsFile.Open(path);
        AssertError(SafetensorsError.TensorNotFound, path, "nope", () => file.GetInfo("nope"));
        AssertError(SafetensorsError.TensorNotFound, path, "nope", () => file.ReadSingles("nope"));
        AssertError(SafetensorsError.UnsupportedConversion, path, "w", () => file.ReadInt64("w"));
        AssertError(SafetensorsError.UnsupportedConversion, path, "u", () => file.ReadInt64("u"));
    }

    [Fact]
    public void ForeignTensorInfoCannotReadOutsideTheBuffer()
    {
        string path = _dir.Write("ok.safetensors", Build($$"""{"w":{{W8}}}""", 8));
        using var file = SafetensorsFile.Open(path);
        var forged = file.GetInfo("w") with { End = 1 << 20 };
        AssertError(SafetensorsError.OffsetOutOfRange, path, "w", () => { _ = file.GetBytes(forged).Length; });
    }

    [Fact]
    public void EveryErrorClassIsCovered()
    {
        var covered = Cases.Values.Select(c => c.Error).Concat([
            SafetensorsError.FileNotFound, SafetensorsError.FileUnreadable, SafetensorsError.HeaderTooLarge,
            SafetensorsError.TensorTooLarge, SafetensorsError.TensorNotFound, SafetensorsError.UnsupportedConversion]);
        Assert.Equal(Enum.GetValues<SafetensorsError>().Order(), covered.Distinct().Order());
    }

    private static void AssertError(SafetensorsError error, string path, string? tensor, Action action)
    {
        var e = Assert.Throws<SafetensorsException>(action);
        Assert.True(error == e.Error, $"expected {error}, got {e.Error}: {e.Message}");
        Assert.Equal(path, e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        Assert.StartsWith(path + ": ", e.Message);
        if (tensor is not null) Assert.Contains($"tensor '{tensor}'", e.Message);
    }

    public void Dispose() => _dir.Dispose();
}
