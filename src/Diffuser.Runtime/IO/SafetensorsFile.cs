using System.Buffers.Binary;
using System.Numerics;
using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.IO;

/// <summary>
/// A read-only safetensors file, memory-mapped (or pinned, for an in-memory buffer), whose header has been fully
/// validated on open (see <see cref="SafetensorsHeader"/>): every tensor lies inside the data buffer, so no read can
/// leave it. Tensor bytes are read straight from the mapping; nothing is copied until a tensor is converted or
/// uploaded. Every problem is a <see cref="SafetensorsException"/> naming the file and, where there is one, the tensor.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly SafetensorsMemory _memory;
    private readonly byte* _data;
    private readonly long _dataLength;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, SafetensorsMemory memory, byte* data, long dataLength, SafetensorsHeaderContent header)
    {
        Path = path;
        _memory = memory;
        _data = data;
        _dataLength = dataLength;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file path (or the name an in-memory buffer was opened under).</summary>
    public string Path { get; }
    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }
    /// <summary>The header's <c>__metadata__</c> (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Maps and validates a safetensors file.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (Directory.Exists(path)) throw new SafetensorsException(SafetensorsError.FileNotFound, path, null, "is a directory, not a safetensors file");
        if (!File.Exists(path)) throw new SafetensorsException(SafetensorsError.FileNotFound, path, null, "file not found");
        SafetensorsMemory memory;
        try { memory = SafetensorsMemory.Map(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(SafetensorsError.FileUnreadable, path, null, $"cannot read the file ({e.Message})", e);
        }
        return Create(path, memory);
    }

    /// <summary>Validates the safetensors bytes of an in-memory buffer, which stays pinned until the reader is disposed.</summary>
    /// <param name="name">What error messages call the buffer (e.g. where it came from).</param>
    public static SafetensorsFile Open(ReadOnlyMemory<byte> bytes, string name) => Create(name, SafetensorsMemory.Pin(bytes));

    private static SafetensorsFile Create(string path, SafetensorsMemory memory)
    {
        try
        {
            long length = memory.Length;
            if (length < 8)
                throw new SafetensorsException(SafetensorsError.FileTooSmall, path, null, $"{length} bytes is too small for a safetensors file (its 8-byte header length is missing)");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(memory.Pointer, 8));
            if (headerLength > (ulong)(length - 8))
                throw new SafetensorsException(SafetensorsError.HeaderLengthOutOfRange, path, null,
                    $"header length {headerLength} points past the end of the file ({length} bytes, so at most {length - 8})");
            if (headerLength > SafetensorsHeader.MaxHeaderLength)
                throw new SafetensorsException(SafetensorsError.HeaderTooLarge, path, null,
                    $"header length {headerLength} exceeds the {SafetensorsHeader.MaxHeaderLength}-byte limit");
            var header = new ReadOnlySpan<byte>(memory.Pointer + 8, (int)headerLength);
            long dataLength = length - 8 - (long)headerLength;
            var content = SafetensorsHeader.Parse(header, dataLength, path);
            return new SafetensorsFile(path, memory, memory.Pointer + 8 + (long)headerLength, dataLength, content);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGetInfo(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    public SafetensorsTensorInfo GetInfo(string name) =>
        _byName.TryGetValue(name, out var info) ? info
            : throw new SafetensorsException(SafetensorsError.TensorNotFound, Path, name, "no such tensor in the file");

    /// <summary>The raw little-endian bytes of a tensor, valid while the file is open.</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensorInfo info) => Elements<byte>(info);

    /// <summary>The tensor's values converted to fp32 (any dtype; integers convert as (float)value, BOOL as 0/1).</summary>
    public float[] ReadSingles(string name)
    {
        var info = GetInfo(name);
        var result = new float[CheckedCount(info)];
        switch (info.DType)
        {
            case SafetensorsDType.F32: Elements<float>(info).CopyTo(result); break;
            case SafetensorsDType.F16: HalfConversion.ToSingle(Elements<Half>(info), result); break;
            case SafetensorsDType.BF16: HalfConversion.BFloat16ToSingle(Elements<ushort>(info), result); break;
            case SafetensorsDType.F64: Widen(Elements<double>(info), result); break;
            case SafetensorsDType.I64: Widen(Elements<long>(info), result); break;
            case SafetensorsDType.U64: Widen(Elements<ulong>(info), result); break;
            case SafetensorsDType.I32: Widen(Elements<int>(info), result); break;
            case SafetensorsDType.U32: Widen(Elements<uint>(info), result); break;
            case SafetensorsDType.I16: Widen(Elements<short>(info), result); break;
            case SafetensorsDType.U16: Widen(Elements<ushort>(info), result); break;
            case SafetensorsDType.I8: Widen(Elements<sbyte>(info), result); break;
            case SafetensorsDType.U8: Widen(Elements<byte>(info), result); break;
            case SafetensorsDType.BOOL: Booleans(Elements<byte>(info), result); break;
        }
        return result;
    }

    /// <summary>An integer or BOOL tensor's values as longs (U64 values must fit a long).</summary>
    public long[] ReadInt64(string name)
    {
        var info = GetInfo(name);
        if (!info.DType.IsInteger())
            throw new SafetensorsException(SafetensorsError.UnsupportedConversion, Path, name, $"{info.DType} is not an integer dtype");
        var result = new long[CheckedCount(info)];
        switch (info.DType)
        {
            case SafetensorsDType.I64: Elements<long>(info).CopyTo(result); break;
            case SafetensorsDType.U64: ToInt64(Elements<ulong>(info), result, info); break;
            case SafetensorsDType.I32: ToInt64(Elements<int>(info), result, info); break;
            case SafetensorsDType.U32: ToInt64(Elements<uint>(info), result, info); break;
            case SafetensorsDType.I16: ToInt64(Elements<short>(info), result, info); break;
            case SafetensorsDType.U16: ToInt64(Elements<ushort>(info), result, info); break;
            case SafetensorsDType.I8: ToInt64(Elements<sbyte>(info), result, info); break;
            case SafetensorsDType.U8: ToInt64(Elements<byte>(info), result, info); break;
            case SafetensorsDType.BOOL: Booleans(Elements<byte>(info), result); break;
        }
        return result;
    }

    /// <summary>
    /// Uploads a tensor to a backend stored as <paramref name="dtype"/>: F32 and F16 go up as they are (converted on
    /// the way when the dtypes differ); BF16 and every other dtype are converted to fp32 first.
    /// </summary>
    public Tensor Load(Backend backend, string name, DType dtype = DType.F32) =>
        backend.Allocate(new TensorShape(GetInfo(name).Shape), dtype, t => LoadInto(name, t));

    /// <summary>Uploads a tensor into <paramref name="destination"/> (as many elements, any dtype, possibly a slice), converting as <see cref="Load"/> does.</summary>
    public void LoadInto(string name, Tensor destination) => LoadPartInto(name, 0, destination, whole: true);

    /// <summary>Uploads elements [<paramref name="offset"/>, <paramref name="offset"/> + its length) of a tensor into <paramref name="destination"/>, converting as <see cref="Load"/> does.</summary>
    public void LoadPartInto(string name, long offset, Tensor destination) => LoadPartInto(name, offset, destination, whole: false);

    private void LoadPartInto(string name, long offset, Tensor destination, bool whole)
    {
        var info = GetInfo(name);
        if (offset < 0 || offset + destination.Length > info.ElementCount)
            throw new DiffuserException($"{Path}: elements [{offset}, {offset + destination.Length}) are not inside tensor '{name}' of {info.ElementCount}.");
        var backend = destination.Backend;
        switch (info.DType)
        {
            case SafetensorsDType.F16: backend.Upload(Part(Elements<Half>(info)), destination); break;
            case SafetensorsDType.F32: backend.Upload(Part(Elements<float>(info)), destination); break;
            default: backend.Upload(Part<float>(ReadSingles(name)), destination); break;
        }

        // the whole tensor as it is, so that a destination of another length is refused by the upload
        ReadOnlySpan<T> Part<T>(ReadOnlySpan<T> all) => whole ? all : all.Slice((int)offset, (int)destination.Length);
    }

    /// <summary>A typed view of a tensor's bytes; refuses ranges outside the data buffer and over-long spans.</summary>
    private ReadOnlySpan<T> Elements<T>(SafetensorsTensorInfo info) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (info.Begin < 0 || info.Begin > info.End || info.End > _dataLength)
            throw new SafetensorsException(SafetensorsError.OffsetOutOfRange, Path, info.Name,
                $"bytes [{info.Begin}, {info.End}) are not inside the data buffer of {_dataLength} bytes");
        long count = info.ByteLength / sizeof(T);
        if (count > int.MaxValue)
            throw new SafetensorsException(SafetensorsError.TensorTooLarge, Path, info.Name, $"{count} values exceed what one span can hold");
        return new ReadOnlySpan<T>(_data + info.Begin, (int)count);
    }

    private int CheckedCount(SafetensorsTensorInfo info) => info.ElementCount <= Array.MaxLength ? (int)info.ElementCount
        : throw new SafetensorsException(SafetensorsError.TensorTooLarge, Path, info.Name, $"{info.ElementCount} elements exceed the largest array .NET allows");

    private static void Widen<T>(ReadOnlySpan<T> source, Span<float> destination) where T : INumberBase<T>
    {
        for (int i = 0; i < source.Length; i++) destination[i] = float.CreateTruncating(source[i]);
    }

    private void ToInt64<T>(ReadOnlySpan<T> source, Span<long> destination, SafetensorsTensorInfo info) where T : IBinaryInteger<T>
    {
        int i = 0;
        try
        {
            for (; i < source.Length; i++) destination[i] = long.CreateChecked(source[i]);
        }
        catch (OverflowException)
        {
            throw new SafetensorsException(SafetensorsError.UnsupportedConversion, Path, info.Name, $"value {source[i]} at index {i} does not fit a 64-bit integer");
        }
    }

    /// <summary>BOOL bytes as 0/1 (any non-zero byte is true).</summary>
    private static void Booleans<T>(ReadOnlySpan<byte> source, Span<T> destination) where T : INumberBase<T>
    {
        for (int i = 0; i < source.Length; i++) destination[i] = source[i] == 0 ? T.Zero : T.One;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _memory.Dispose();
    }
}
