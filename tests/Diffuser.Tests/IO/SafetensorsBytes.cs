using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Diffuser.Tests.IO;

/// <summary>Hand-built safetensors bytes: an 8-byte little-endian header length, the header, the data.</summary>
public static class SafetensorsBytes
{
    /// <summary>A file whose prefix gives the true length of <paramref name="header"/>, followed by <paramref name="dataLength"/> bytes.</summary>
    public static byte[] Build(string header, int dataLength) => Build(Encoding.UTF8.GetBytes(header), dataLength);

    public static byte[] Build(byte[] header, int dataLength) => Build((ulong)header.Length, header, new byte[dataLength]);

    /// <summary>A file with an arbitrary length prefix (true or not).</summary>
    public static byte[] Build(ulong prefix, byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, prefix);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>One tensor entry's JSON body (without the name).</summary>
    public static string Entry(string dtype, string shape, string offsets) =>
        $$"""{"dtype":"{{dtype}}","shape":{{shape}},"data_offsets":{{offsets}}}""";

    /// <summary>Creates a sparse file: the header of <paramref name="header"/> and then zeros up to
    /// <paramref name="totalLength"/> bytes, without writing (or using disk for) the zeros.</summary>
    public static void WriteSparse(string path, ulong prefix, byte[] header, long totalLength)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, prefix);
        stream.Write(length);
        stream.Write(header);
        stream.SetLength(totalLength);
    }

    /// <summary>A file's header JSON and its length, read without the reader under test.</summary>
    public static (JsonDocument Header, long HeaderLength) ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        var prefix = new byte[8];
        stream.ReadExactly(prefix);
        var header = new byte[BinaryPrimitives.ReadUInt64LittleEndian(prefix)];
        stream.ReadExactly(header);
        return (JsonDocument.Parse(header), header.Length);
    }
}
