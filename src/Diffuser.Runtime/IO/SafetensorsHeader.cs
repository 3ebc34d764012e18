using System.Text;
using System.Text.Json;

namespace Diffuser.IO;

/// <summary>
/// Parses and validates a safetensors header: UTF-8 JSON object; each tensor with a known dtype, a non-negative
/// shape and [begin, end) offsets whose length equals elements × dtype size; tensors inside the data buffer, not
/// overlapping, covering it without holes (as the reference implementation demands); an optional string→string
/// <c>__metadata__</c>.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The reference implementation refuses headers over 100 MB; so do we.</summary>
    public const long MaxHeaderLength = 100_000_000;

    public static (List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> header, long dataLength, string path)
    {
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header); }
        catch (DecoderFallbackException) { throw Error(SafetensorsError.HeaderNotUtf8, path, null, "header is not valid UTF-8"); }

        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw Error(SafetensorsError.HeaderNotJson, path, null, $"header is not valid JSON ({e.Message})"); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Error(SafetensorsError.HeaderNotObject, path, null, $"header is a JSON {doc.RootElement.ValueKind}, not an object");
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>();
            var names = new HashSet<string>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw Error(SafetensorsError.DuplicateTensor, path, property.Name, "appears twice in the header");
                if (property.Name == "__metadata__") ReadMetadata(property.Value, metadata, path);
                else tensors.Add(ReadTensor(property.Name, property.Value, dataLength, path));
            }
            CheckLayout(tensors, dataLength, path);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Error(SafetensorsError.InvalidMetadata, path, null, "__metadata__ is not an object of strings");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Error(SafetensorsError.InvalidMetadata, path, null, $"__metadata__ value '{entry.Name}' is not a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array)
            throw Error(SafetensorsError.InvalidTensorEntry, path, name, "entry needs a string 'dtype', an array 'shape' and an array 'data_offsets'");

        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDTypeExtensions.TryParse(dtypeName, out var dtype))
            throw Error(SafetensorsError.UnknownDType, path, name, $"unknown dtype '{dtypeName}'");

        var shape = new int[shapeElement.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw Error(SafetensorsError.InvalidShape, path, name, $"shape entry {d} is not a non-negative 32-bit integer");
            shape[i++] = dim;
            elements = dim == 0 || elements == 0 ? 0 : elements > long.MaxValue / dim ? long.MaxValue : elements * dim;
        }

        if (offsetsElement.GetArrayLength() != 2)
            throw Error(SafetensorsError.InvalidTensorEntry, path, name, "data_offsets must be [begin, end]");
        long begin = ReadOffset(offsetsElement[0], name, path);
        long end = ReadOffset(offsetsElement[1], name, path);
        if (begin > end || end > dataLength)
            throw Error(SafetensorsError.OffsetOutOfRange, path, name, $"data_offsets [{begin}, {end}] lie outside the data buffer of {dataLength} bytes");

        long expected = elements > long.MaxValue / dtype.SizeInBytes() ? long.MaxValue : elements * dtype.SizeInBytes();
        if (expected != end - begin)
            throw Error(SafetensorsError.SizeMismatch, path, name,
                $"shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets span {end - begin}");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(JsonElement e, string name, string path)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw Error(SafetensorsError.InvalidTensorEntry, path, name, $"data offset {e} is not a non-negative integer");
        return v;
    }

    private static void CheckLayout(List<SafetensorsTensorInfo> tensors, long dataLength, string path)
    {
        long position = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < position)
                throw Error(SafetensorsError.OverlappingTensors, path, t.Name, $"bytes [{t.Begin}, {t.End}) overlap the previous tensor, which ends at {position}");
            if (t.Begin > position)
                throw Error(SafetensorsError.UncoveredBytes, path, t.Name, $"bytes [{position}, {t.Begin}) before this tensor belong to no tensor");
            position = t.End;
        }
        if (position != dataLength)
            throw Error(SafetensorsError.UncoveredBytes, path, null, $"bytes [{position}, {dataLength}) at the end of the data buffer belong to no tensor");
    }

    public static SafetensorsException Error(SafetensorsError error, string path, string? tensor, string detail) => new(error, path, tensor, detail);
}
