using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Diffuser.IO;

/// <summary>
/// Builds a safetensors file: tensors are stored in the order added, the header is padded with spaces to a multiple
/// of 8 bytes, and the file is written to a temporary name and renamed into place, so a failure never leaves a
/// half-written file behind.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, SafetensorsDType DType, int[] Shape, byte[] Bytes)> _tensors = new();
    private readonly Dictionary<string, string> _metadata = new();

    public SafetensorsWriter AddMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    public SafetensorsWriter Add(string name, ReadOnlySpan<float> values, params int[] shape) => AddRaw(name, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<Half> values, params int[] shape) => AddRaw(name, SafetensorsDType.F16, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<long> values, params int[] shape) => AddRaw(name, SafetensorsDType.I64, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<byte> values, params int[] shape) => AddRaw(name, SafetensorsDType.U8, shape, values);

    public SafetensorsWriter AddRaw(string name, SafetensorsDType dtype, int[] shape, ReadOnlySpan<byte> bytes)
    {
        if (name == "__metadata__" || _tensors.Any(t => t.Name == name))
            throw new DiffuserException($"Safetensors writer: tensor name '{name}' is reserved or already used.");
        long elements = shape.Aggregate(1L, (a, d) => a * d);
        if (shape.Any(d => d < 0) || elements * dtype.SizeInBytes() != bytes.Length)
            throw new DiffuserException($"Safetensors writer: tensor '{name}' has {bytes.Length} bytes, which does not fit shape [{string.Join(", ", shape)}] of {dtype}.");
        _tensors.Add((name, dtype, (int[])shape.Clone(), bytes.ToArray()));
        return this;
    }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>Writes the file atomically: to <c>path.tmp-*</c> first, then renamed over <paramref name="path"/>.</summary>
    public void Save(string path, bool overwrite = true)
    {
        string full = System.IO.Path.GetFullPath(path);
        string temp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                WriteTo(stream);
            File.Move(temp, full, overwrite);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public void WriteTo(Stream stream)
    {
        byte[] header = BuildHeader();
        Span<byte> length = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in _tensors) stream.Write(t.Bytes);
    }

    private byte[] BuildHeader()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Bytes.Length;
            }
            json.WriteEndObject();
        }
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        var header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        for (int i = (int)buffer.Length; i < padded; i++) header[i] = (byte)' ';
        return header;
    }
}
