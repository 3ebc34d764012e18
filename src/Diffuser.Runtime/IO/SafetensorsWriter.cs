using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Diffuser.IO;

/// <summary>
/// Builds a safetensors file. The header lists tensors in the order added (after <c>__metadata__</c>) and is padded
/// with spaces to a multiple of 8 bytes; the data is laid out by element size, largest first, so every tensor starts
/// at an offset aligned to its element size. <see cref="Save"/> writes to a temporary file, flushes it to disk and
/// renames it into place, so a failure never leaves a half-written file behind.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<Entry> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private sealed record Entry(string Name, SafetensorsDType DType, int[] Shape, byte[] Bytes);

    public SafetensorsWriter AddMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    public SafetensorsWriter Add(string name, ReadOnlySpan<float> values, params int[] shape) => AddRaw(name, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<Half> values, params int[] shape) => AddRaw(name, SafetensorsDType.F16, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<long> values, params int[] shape) => AddRaw(name, SafetensorsDType.I64, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<int> values, params int[] shape) => AddRaw(name, SafetensorsDType.I32, shape, MemoryMarshal.AsBytes(values));
    public SafetensorsWriter Add(string name, ReadOnlySpan<byte> values, params int[] shape) => AddRaw(name, SafetensorsDType.U8, shape, values);

    /// <summary>Adds a tensor of any dtype from its little-endian bytes (e.g. BF16 bit patterns).</summary>
    public SafetensorsWriter AddRaw(string name, SafetensorsDType dtype, int[] shape, ReadOnlySpan<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "__metadata__" || _names.Contains(name))
            throw new DiffuserException($"Safetensors writer: tensor name '{name}' is reserved or already used.");
        string shapeText = $"[{string.Join(", ", shape)}]";
        if (shape.Any(d => d < 0))
            throw new DiffuserException($"Safetensors writer: tensor '{name}' has a negative dimension in shape {shapeText}.");
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, d) => a * d) * dtype.SizeInBytes()); }
        catch (OverflowException) { throw new DiffuserException($"Safetensors writer: tensor '{name}' shape {shapeText} overflows 64-bit sizes."); }
        if (expected != bytes.Length)
            throw new DiffuserException($"Safetensors writer: tensor '{name}' has {bytes.Length} bytes, but shape {shapeText} of {dtype} needs {expected}.");
        _names.Add(name);
        _tensors.Add(new Entry(name, dtype, (int[])shape.Clone(), bytes.ToArray()));
        return this;
    }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>Writes the file atomically: to <c>path.tmp-*</c> beside it first, flushed, then renamed over <paramref name="path"/>.</summary>
    public void Save(string path, bool overwrite = true)
    {
        string full = System.IO.Path.GetFullPath(path);
        string temp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"Cannot write safetensors file {full}: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public void WriteTo(Stream stream)
    {
        var layout = _tensors.OrderByDescending(t => t.DType.SizeInBytes()).ToList();
        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var t in layout)
        {
            offsets[t.Name] = offset;
            offset += t.Bytes.Length;
        }
        byte[] header = BuildHeader(offsets);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in layout) stream.Write(t.Bytes);
    }

    private byte[] BuildHeader(Dictionary<string, long> offsets)
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
            foreach (var t in _tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[t.Name]);
                json.WriteNumberValue(offsets[t.Name] + t.Bytes.Length);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad with spaces (JSON whitespace) so the data buffer starts 8-byte aligned, as the reference writer does.
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        var header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        header.AsSpan((int)buffer.Length).Fill((byte)' ');
        return header;
    }
}
