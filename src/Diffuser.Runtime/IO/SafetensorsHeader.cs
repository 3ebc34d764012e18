using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Diffuser.IO;

/// <summary>The tensors (in header order) and the <c>__metadata__</c> map of a validated header.</summary>
internal sealed record SafetensorsHeaderContent(List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata);

/// <summary>
/// Parses and validates a safetensors header in one streaming pass: UTF-8 JSON object, nesting at most
/// <see cref="MaxDepth"/>; each tensor with a known dtype, a shape of non-negative 32-bit dimensions and
/// [begin, end] offsets whose length equals elements × dtype size; tensors inside the data buffer, not overlapping,
/// covering it without holes (as the reference implementation demands); an optional string→string
/// <c>__metadata__</c>. Unknown keys inside a tensor entry are skipped, as the reference implementation does.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The reference implementation refuses headers over 100 MB; so do we.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>A header needs three levels (root, entry, shape); allow some room for unknown keys, no more.</summary>
    public const int MaxDepth = 16;

    public static SafetensorsHeaderContent Parse(ReadOnlySpan<byte> header, long dataLength, string path)
    {
        if (!Utf8.IsValid(header))
            throw Error(SafetensorsError.HeaderNotUtf8, path, null, $"header is not valid UTF-8 (first bad byte at header offset {FirstInvalidUtf8(header)})");
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = MaxDepth + 1 });
        var context = new Context(path, dataLength);
        try
        {
            Next(ref reader, context);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Error(SafetensorsError.HeaderNotObject, path, null, $"header is a JSON {reader.TokenType}, not an object");
            var content = new SafetensorsHeaderContent(new List<SafetensorsTensorInfo>(), new Dictionary<string, string>(StringComparer.Ordinal));
            var names = new HashSet<string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            while (Next(ref reader, context) == JsonTokenType.PropertyName)
            {
                string name = ReadString(ref reader, context);
                if (name == "__metadata__")
                {
                    if (sawMetadata) throw Error(SafetensorsError.InvalidMetadata, path, null, "__metadata__ appears twice in the header");
                    sawMetadata = true;
                    ReadMetadata(ref reader, context, content.Metadata);
                }
                else
                {
                    if (!names.Add(name)) throw Error(SafetensorsError.DuplicateTensor, path, name, "appears twice in the header");
                    context.Tensor = name;
                    content.Tensors.Add(ReadTensor(ref reader, context, name));
                    context.Tensor = null;
                }
            }
            // Only whitespace may follow the object; the reader throws on anything else.
            reader.Read();
            CheckLayout(content.Tensors, dataLength, path);
            return content;
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(SafetensorsError.HeaderNotJson, path, context.Tensor, $"header is not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>What errors name: the file, and the tensor whose entry is being read (if any).</summary>
    private sealed class Context(string path, long dataLength)
    {
        public string Path { get; } = path;
        public long DataLength { get; } = dataLength;
        public string? Tensor { get; set; }
    }

    /// <summary>Reads the next token, refusing nesting deeper than <see cref="MaxDepth"/>.</summary>
    private static JsonTokenType Next(ref Utf8JsonReader reader, Context context)
    {
        if (!reader.Read()) throw Error(SafetensorsError.HeaderNotJson, context.Path, context.Tensor, "header JSON ends early");
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= MaxDepth)
            throw Error(SafetensorsError.HeaderTooDeep, context.Path, context.Tensor, $"header JSON nests deeper than {MaxDepth} levels (at byte {reader.TokenStartIndex})");
        return reader.TokenType;
    }

    private static string ReadString(ref Utf8JsonReader reader, Context context)
    {
        try { return reader.GetString()!; }
        catch (InvalidOperationException e)
        {
            // An escape such as \ud800 that is no valid UTF-16 text.
            throw new SafetensorsException(SafetensorsError.HeaderNotUtf8, context.Path, context.Tensor, $"header string at byte {reader.TokenStartIndex} is not valid Unicode ({e.Message})", e);
        }
    }

    /// <summary>Skips the value whose first token is current, checking the depth of everything inside it.</summary>
    private static void SkipValue(ref Utf8JsonReader reader, Context context)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return;
        int depth = reader.CurrentDepth;
        while (Next(ref reader, context) is not (JsonTokenType.EndObject or JsonTokenType.EndArray) || reader.CurrentDepth > depth) { }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Context context, Dictionary<string, string> metadata)
    {
        var token = Next(ref reader, context);
        if (token == JsonTokenType.Null) return;
        if (token != JsonTokenType.StartObject)
            throw Error(SafetensorsError.InvalidMetadata, context.Path, null, $"__metadata__ is a JSON {token}, not an object of strings");
        while (Next(ref reader, context) == JsonTokenType.PropertyName)
        {
            string key = ReadString(ref reader, context);
            if (Next(ref reader, context) != JsonTokenType.String)
                throw Error(SafetensorsError.InvalidMetadata, context.Path, null, $"__metadata__ value '{key}' is a JSON {reader.TokenType}, not a string");
            if (!metadata.TryAdd(key, ReadString(ref reader, context)))
                throw Error(SafetensorsError.InvalidMetadata, context.Path, null, $"__metadata__ key '{key}' appears twice");
        }
    }

    private static SafetensorsTensorInfo ReadTensor(ref Utf8JsonReader reader, Context context, string name)
    {
        string path = context.Path;
        if (Next(ref reader, context) != JsonTokenType.StartObject)
            throw Error(SafetensorsError.InvalidTensorEntry, path, name, $"entry is a JSON {reader.TokenType}, not an object with dtype, shape and data_offsets");
        string? dtypeName = null;
        int[]? shape = null;
        ulong[]? offsets = null;
        while (Next(ref reader, context) == JsonTokenType.PropertyName)
        {
            string key = ReadString(ref reader, context);
            bool repeated = key switch
            {
                "dtype" => dtypeName is not null,
                "shape" => shape is not null,
                "data_offsets" => offsets is not null,
                _ => false,
            };
            if (repeated) throw Error(SafetensorsError.InvalidTensorEntry, path, name, $"'{key}' appears twice in the entry");
            Next(ref reader, context);
            switch (key)
            {
                case "dtype":
                    if (reader.TokenType != JsonTokenType.String)
                        throw Error(SafetensorsError.UnknownDType, path, name, $"dtype is a JSON {reader.TokenType}, not a string");
                    dtypeName = ReadString(ref reader, context);
                    break;
                case "shape":
                    shape = ReadShape(ref reader, context, name);
                    break;
                case "data_offsets":
                    offsets = ReadOffsets(ref reader, context, name);
                    break;
                default:
                    SkipValue(ref reader, context);
                    break;
            }
        }
        if (dtypeName is null || shape is null || offsets is null)
            throw Error(SafetensorsError.InvalidTensorEntry, path, name,
                $"entry lacks {(dtypeName is null ? "'dtype'" : shape is null ? "'shape'" : "'data_offsets'")}");
        return Validate(context, name, dtypeName, shape, offsets[0], offsets[1]);
    }

    private static int[] ReadShape(ref Utf8JsonReader reader, Context context, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Error(SafetensorsError.InvalidShape, context.Path, name, $"shape is a JSON {reader.TokenType}, not an array");
        var dims = new List<int>();
        while (Next(ref reader, context) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong dim))
                throw Error(SafetensorsError.InvalidShape, context.Path, name, $"shape entry {TokenText(ref reader)} is not a non-negative integer");
            if (dim > int.MaxValue)
                throw Error(SafetensorsError.InvalidShape, context.Path, name, $"dimension {dim} exceeds {int.MaxValue}, the largest this engine supports");
            dims.Add((int)dim);
        }
        return dims.ToArray();
    }

    private static ulong[] ReadOffsets(ref Utf8JsonReader reader, Context context, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Error(SafetensorsError.InvalidOffsets, context.Path, name, $"data_offsets is a JSON {reader.TokenType}, not an array [begin, end]");
        var values = new List<ulong>(2);
        while (Next(ref reader, context) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong value))
                throw Error(SafetensorsError.InvalidOffsets, context.Path, name, $"data offset {TokenText(ref reader)} is not a non-negative integer");
            if (values.Count == 2)
                throw Error(SafetensorsError.InvalidOffsets, context.Path, name, "data_offsets has more than two values; it must be [begin, end]");
            values.Add(value);
        }
        if (values.Count != 2)
            throw Error(SafetensorsError.InvalidOffsets, context.Path, name, $"data_offsets has {values.Count} values; it must be [begin, end]");
        return values.ToArray();
    }

    private static SafetensorsTensorInfo Validate(Context context, string name, string dtypeName, int[] shape, ulong begin, ulong end)
    {
        string path = context.Path;
        if (!SafetensorsDTypeExtensions.TryParse(dtypeName, out var dtype))
            throw Error(SafetensorsError.UnknownDType, path, name, $"unknown dtype '{dtypeName}'");
        string shapeText = $"[{string.Join(", ", shape)}]";
        if (!TryByteLength(shape, dtype.SizeInBytes(), out long byteLength))
            throw Error(SafetensorsError.InvalidShape, path, name, $"shape {shapeText} of {dtype} has more than 2^63 bytes");
        if (begin > end)
            throw Error(SafetensorsError.InvalidOffsets, path, name, $"data_offsets [{begin}, {end}] begin after they end");
        if (end > (ulong)context.DataLength)
            throw Error(SafetensorsError.OffsetOutOfRange, path, name, $"data_offsets [{begin}, {end}] reach past the data buffer of {context.DataLength} bytes");
        if ((ulong)byteLength != end - begin)
            throw Error(SafetensorsError.SizeMismatch, path, name,
                $"shape {shapeText} of {dtype} needs {byteLength} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        return new SafetensorsTensorInfo(name, dtype, shape, (long)begin, (long)end);
    }

    /// <summary>elements × element size, or false when it does not fit a long.</summary>
    private static bool TryByteLength(int[] shape, int elementSize, out long byteLength)
    {
        byteLength = 0;
        if (shape.Contains(0)) return true;
        long product = elementSize;
        foreach (int dim in shape)
        {
            if (product > long.MaxValue / dim) return false;
            product *= dim;
        }
        byteLength = product;
        return true;
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

    /// <summary>The current token as it appears in the header, shortened for a message.</summary>
    private static string TokenText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.Number or JsonTokenType.String)) return $"(a JSON {reader.TokenType})";
        var raw = reader.ValueSpan.Length > 40 ? reader.ValueSpan[..40] : reader.ValueSpan;
        string text = Encoding.UTF8.GetString(raw) + (raw.Length < reader.ValueSpan.Length ? "..." : "");
        return reader.TokenType == JsonTokenType.String ? $"\"{text}\"" : text;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int position = 0;
        while (position < bytes.Length && Rune.DecodeFromUtf8(bytes[position..], out _, out int consumed) == OperationStatus.Done)
            position += consumed;
        return position;
    }

    private static SafetensorsException Error(SafetensorsError error, string path, string? tensor, string detail) => new(error, path, tensor, detail);
}
