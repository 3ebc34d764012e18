using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Diffuser.Tests.IO;

/// <summary>One mutated file: what was done to it (for failure messages) and its bytes.</summary>
/// <param name="HeaderIntact">True when only tensor bytes changed, so the file must still open and read.</param>
public readonly record struct Mutant(string Description, ReadOnlyMemory<byte> Bytes, bool HeaderIntact);

/// <summary>
/// Makes corrupt variants of one real safetensors file: bit flips and byte overwrites in the header, changed length
/// prefixes, truncation, extension, spliced and deleted header fragments, structured JSON edits (offsets, dtypes,
/// shapes, keys, names, metadata, nesting) and flipped tensor bytes. The original data stays in place in one buffer
/// and each mutant's prefix and header are written just in front of it, so a mutant of a 10 MB model costs only its
/// header, never a copy of its tensors.
/// </summary>
public sealed class SafetensorsMutator
{
    private const int TailRoom = 4096;
    private static readonly byte[] InterestingBytes = [.. "{}[]\":,0123456789-+.eE \\"u8, 0, 0x80, 0xC0, 0xFF];
    private static readonly string[] DTypeNames = ["BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16", "BF16", "F32", "F64", "f32", "F33", ""];
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly byte[] _header;
    private readonly JsonObject _json;
    private readonly string[] _names;
    private readonly byte[][] _donors;
    private readonly byte[] _buffer;
    private readonly int _dataStart, _dataLength;
    private (int Index, byte Value)? _flipped;

    /// <param name="file">A valid safetensors file.</param>
    /// <param name="donors">Headers of other files, whose fragments get spliced in.</param>
    public SafetensorsMutator(byte[] file, byte[][] donors)
    {
        _header = HeaderOf(file);
        _json = JsonNode.Parse(_header)!.AsObject();
        _names = _json.Select(p => p.Key).Where(k => k != "__metadata__").ToArray();
        _donors = donors;
        _dataLength = file.Length - 8 - _header.Length;
        _dataStart = 8 + 2 * _header.Length + 4096;
        _buffer = new byte[_dataStart + _dataLength + TailRoom];
        file.AsSpan(8 + _header.Length).CopyTo(_buffer.AsSpan(_dataStart));
    }

    /// <summary>The header bytes of a safetensors file.</summary>
    public static byte[] HeaderOf(byte[] file) => file.AsSpan(8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file)).ToArray();

    public Mutant Next(Random rng)
    {
        if (_flipped is var (index, value)) _buffer[index] = value;
        _flipped = null;
        int roll = rng.Next(100);
        if (roll < 12) return PrefixChange(rng);
        if (roll < 20) return Truncation(rng);
        if (roll < 26) return Extension(rng);
        if (roll < 32 && _dataLength > 0) return DataFlip(rng);
        if (roll < 70)
        {
            var (header, what) = JsonEdit(rng);
            if (rng.Next(5) == 0) (header, what) = ByteEdit(header, rng, what);
            return Compose(what, header, (ulong)header.Length);
        }
        var (h, w) = (_header, "");
        for (int i = rng.Next(1, 4); i > 0; i--) (h, w) = ByteEdit(h, rng, w);
        // Usually the prefix follows the new header length; sometimes it keeps the old one.
        return Compose(w, h, rng.Next(10) == 0 ? (ulong)_header.Length : (ulong)h.Length);
    }

    private Mutant Compose(string what, byte[] header, ulong prefix, int? length = null, int extension = 0, bool headerIntact = false)
    {
        int start = _dataStart - header.Length - 8;
        int full = 8 + header.Length + _dataLength + extension;
        if (start < 0)
        {
            // A header that grew past the room in front of the data (rare): build this mutant by copying.
            var copy = new byte[full];
            BinaryPrimitives.WriteUInt64LittleEndian(copy, prefix);
            header.CopyTo(copy, 8);
            _buffer.AsSpan(_dataStart, _dataLength + extension).CopyTo(copy.AsSpan(8 + header.Length));
            return new Mutant(what, copy.AsMemory(0, length ?? full), headerIntact);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(start), prefix);
        header.CopyTo(_buffer, start + 8);
        return new Mutant(what, _buffer.AsMemory(start, length ?? full), headerIntact);
    }

    private Mutant PrefixChange(Random rng)
    {
        ulong h = (ulong)_header.Length, file = (ulong)(8 + _header.Length + _dataLength);
        ulong[] interesting = [0, 1, 2, 7, 8, h - 1, h + 1, h - 8, h + 8, file - 8, file - 7, file, 100_000_000, 100_000_001,
            int.MaxValue, 1UL << 31, 1UL << 32, long.MaxValue, ulong.MaxValue, h | (1UL << 63)];
        ulong prefix = rng.Next(3) switch
        {
            0 => h ^ (1UL << rng.Next(64)),
            1 => (ulong)rng.NextInt64(long.MinValue, long.MaxValue),
            _ => interesting[rng.Next(interesting.Length)],
        };
        return Compose($"length prefix {prefix}", _header, prefix);
    }

    private Mutant Truncation(Random rng)
    {
        int full = 8 + _header.Length + _dataLength;
        int length = rng.Next(4) switch
        {
            0 => rng.Next(0, 8),
            1 => rng.Next(8, 8 + _header.Length),
            _ => _dataLength == 0 ? 8 + _header.Length - 1 : rng.Next(8 + _header.Length, full),
        };
        return Compose($"truncated to {length} of {full} bytes", _header, (ulong)_header.Length, length);
    }

    private Mutant Extension(Random rng)
    {
        int extra = rng.Next(2) == 0 ? rng.Next(1, 9) : rng.Next(1, TailRoom + 1);
        rng.NextBytes(_buffer.AsSpan(_dataStart + _dataLength, extra));
        return Compose($"extended by {extra} bytes", _header, (ulong)_header.Length, extension: extra);
    }

    private Mutant DataFlip(Random rng)
    {
        int index = _dataStart + rng.Next(_dataLength);
        _flipped = (index, _buffer[index]);
        _buffer[index] ^= (byte)(1 + rng.Next(255));
        return Compose($"data byte {index - _dataStart} changed", _header, (ulong)_header.Length, headerIntact: true);
    }

    /// <summary>One raw edit of header bytes: bit flips, overwrites, a spliced fragment or a deleted range.</summary>
    private (byte[] Header, string What) ByteEdit(byte[] header, Random rng, string what)
    {
        var h = new List<byte>(header);
        string edit;
        switch (h.Count == 0 ? 2 : rng.Next(4))
        {
            case 0:
                int flips = rng.Next(1, 5);
                for (int i = 0; i < flips; i++) h[rng.Next(h.Count)] ^= (byte)(1 << rng.Next(8));
                edit = $"{flips} header bit flips";
                break;
            case 1:
                int at = rng.Next(h.Count);
                h[at] = rng.Next(2) == 0 ? InterestingBytes[rng.Next(InterestingBytes.Length)] : (byte)rng.Next(256);
                edit = $"header byte {at} = 0x{h[at]:X2}";
                break;
            case 2:
                byte[] donor = rng.Next(10) < 7 || _donors.Length == 0 ? header : _donors[rng.Next(_donors.Length)];
                if (donor.Length == 0) donor = "{}"u8.ToArray();
                int from = rng.Next(donor.Length), count = rng.Next(1, Math.Min(64, donor.Length - from) + 1);
                int to = rng.Next(h.Count + 1);
                if (rng.Next(2) == 0) h.InsertRange(to, donor.AsSpan(from, count).ToArray());
                else for (int i = 0; i < count && to + i < h.Count; i++) h[to + i] = donor[from + i];
                edit = $"spliced {count} bytes at {to}";
                break;
            default:
                int start = rng.Next(h.Count), length = rng.Next(1, Math.Min(64, h.Count - start) + 1);
                h.RemoveRange(start, length);
                edit = $"deleted header bytes [{start}, {start + length})";
                break;
        }
        return (h.ToArray(), what.Length == 0 ? edit : $"{what}; {edit}");
    }

    /// <summary>A structured edit of the header JSON, re-serialised (and usually re-padded to 8 bytes).</summary>
    private (byte[] Header, string What) JsonEdit(Random rng)
    {
        var root = _json.DeepClone().AsObject();
        string name = _names.Length > 0 ? _names[rng.Next(_names.Length)] : "";
        var entry = _names.Length > 0 ? root[name]!.AsObject() : new JsonObject();
        string other = _names.Length > 0 ? _names[rng.Next(_names.Length)] : "";
        string? duplicate = null;
        JsonNode? replacement = null;
        string ReplaceRoot(JsonNode node)
        {
            replacement = node;
            return $"header replaced by a JSON {node.GetValueKind()}";
        }
        string what = rng.Next(14) switch
        {
            0 => SetOffset(entry, rng),
            12 => ShiftOffsets(entry, rng),
            13 => ReplaceRoot(new JsonNode[] { new JsonArray(root.DeepClone()), JsonValue.Create("x"), JsonValue.Create(8) }[rng.Next(3)]),
            1 => Set(entry, "dtype", rng.Next(4) == 0 ? JsonValue.Create(rng.Next(20)) : JsonValue.Create(DTypeNames[rng.Next(DTypeNames.Length)])),
            2 or 3 => EditShape(entry, rng),
            4 => Remove(entry, new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)]),
            5 => Set(entry, "extra", Nested(rng.Next(1, 40))),
            6 => SwapOffsets(entry, root[other]?.AsObject()),
            7 => Remove(root, name),
            8 => Set(root, name, new JsonNode?[] { JsonValue.Create(1), new JsonArray(), JsonValue.Create("x"), null }[rng.Next(4)]),
            9 => EditMetadata(root, rng),
            10 => $"duplicate name '{duplicate = other}'",
            _ => Rename(root, name, new[] { "__metadata__", "", name + "\u00e9" }[rng.Next(3)]),
        };
        string text = (replacement ?? root).ToJsonString(Compact);
        if (duplicate is not null && duplicate != name)
        {
            // JsonObject cannot hold two equal keys: rename the other entry in the text.
            int at = text.IndexOf($"\"{duplicate}\":", StringComparison.Ordinal);
            if (at >= 0) text = text[..at] + $"\"{name}\":" + text[(at + duplicate.Length + 3)..];
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (rng.Next(4) != 0) bytes = [.. bytes, .. Enumerable.Repeat((byte)' ', (8 - bytes.Length % 8) % 8)];
        return (bytes, $"JSON edit of '{name}': {what}");
    }

    private string SetOffset(JsonObject entry, Random rng)
    {
        int which = rng.Next(2);
        var offsets = entry["data_offsets"]!.AsArray();
        long current = offsets[which]!.GetValue<long>();
        JsonNode? value = rng.Next(10) switch
        {
            0 => JsonValue.Create(current + rng.Next(-8, 9)),
            1 => JsonValue.Create(0),
            2 => JsonValue.Create(_dataLength + rng.Next(0, 2)),
            3 => JsonValue.Create(rng.NextInt64(0, _dataLength + 1)),
            4 => JsonValue.Create(long.MaxValue),
            5 => JsonValue.Create(ulong.MaxValue),
            6 => JsonValue.Create(-1),
            7 => JsonValue.Create(current + 0.5),
            8 => JsonValue.Create(current.ToString()),
            _ => null,
        };
        offsets[which] = value;
        return $"data_offsets[{which}] = {value?.ToJsonString() ?? "null"}";
    }

    /// <summary>Moves a tensor's byte range, keeping its length: onto a neighbour or past the end.</summary>
    private static string ShiftOffsets(JsonObject entry, Random rng)
    {
        var offsets = entry["data_offsets"]!.AsArray();
        int shift = rng.Next(2) == 0 ? -rng.Next(1, 9) : rng.Next(1, 9);
        for (int i = 0; i < 2; i++) offsets[i] = offsets[i]!.GetValue<long>() + shift;
        return $"data_offsets shifted by {shift}";
    }

    private static string EditShape(JsonObject entry, Random rng)
    {
        var shape = entry["shape"]!.AsArray();
        int dims = shape.Count, at = dims == 0 ? 0 : rng.Next(dims);
        switch (rng.Next(8))
        {
            case 0: shape.Insert(rng.Next(dims + 1), 1); return "inserted dimension 1";
            case 1 when dims > 0: shape.RemoveAt(at); return $"removed dimension {at}";
            case 2 when dims > 0: shape[at] = shape[at]!.GetValue<int>() + (rng.Next(2) * 2 - 1); return $"dimension {at} ± 1";
            case 3 when dims > 1 && shape[at]!.GetValue<int>() % 2 == 0:
                // Same element count, different shape: a valid file.
                int next = (at + 1) % dims;
                shape[at] = shape[at]!.GetValue<int>() / 2;
                shape[next] = shape[next]!.GetValue<int>() * 2;
                return $"moved a factor 2 from dimension {at} to {next}";
            case 4: shape.Clear(); return "scalar shape []";
            case 5: shape.Add(0); return "appended dimension 0";
            case 6:
                JsonNode? odd = new JsonNode?[] { -1, 2147483648L, 2147483647, 1.5, "3", new JsonArray(2), null }[rng.Next(7)];
                if (dims == 0) shape.Add(odd); else shape[at] = odd;
                return $"dimension {at} = {odd?.ToJsonString() ?? "null"}";
            default: shape.Add(2147483647); shape.Add(2147483647); return "appended two 2^31-1 dimensions";
        }
    }

    private static string EditMetadata(JsonObject root, Random rng)
    {
        switch (rng.Next(5))
        {
            case 0: root.Remove("__metadata__"); return "removed __metadata__";
            case 1: root["__metadata__"] = null; return "__metadata__ = null";
            case 2: root["__metadata__"] = new JsonArray("x"); return "__metadata__ = [\"x\"]";
            case 3: root["__metadata__"] = new JsonObject { ["format"] = 1 }; return "__metadata__ value a number";
            default: root["__metadata__"] = new JsonObject { ["format"] = "pt", ["extra"] = "ü\n\"" }; return "__metadata__ with a new key";
        }
    }

    private static string SwapOffsets(JsonObject entry, JsonObject? other)
    {
        if (other is null || ReferenceEquals(entry, other)) return "no swap";
        var mine = entry["data_offsets"]!.DeepClone();
        entry["data_offsets"] = other["data_offsets"]!.DeepClone();
        other["data_offsets"] = mine;
        return "swapped data_offsets with another tensor";
    }

    private static string Rename(JsonObject root, string name, string newName)
    {
        if (!root.TryGetPropertyValue(name, out var value)) return "no rename";
        root.Remove(name);
        root[newName] = value;
        return $"renamed to '{newName}'";
    }

    private static string Set(JsonObject target, string key, JsonNode? value)
    {
        target[key] = value;
        return $"{key} = {value?.ToJsonString() ?? "null"}";
    }

    private static string Remove(JsonObject target, string key) => target.Remove(key) ? $"removed '{key}'" : "nothing removed";

    private static JsonNode Nested(int depth)
    {
        JsonNode node = JsonValue.Create(1);
        for (int i = 0; i < depth; i++) node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["k"] = node };
        return node;
    }
}
