using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.IO;

/// <summary>
/// A read-only, memory-mapped safetensors file whose header has been fully validated on open
/// (see <see cref="SafetensorsHeader"/>). Tensor bytes are read straight from the mapping; nothing is copied
/// until a tensor is converted or uploaded.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data,
        List<SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _data = data;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name);
    }

    public string Path { get; }
    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new SafetensorsException(SafetensorsError.FileNotFound, path, null, "file not found");
        long length = info.Length;
        if (length < 8) throw new SafetensorsException(SafetensorsError.FileTooSmall, path, null, $"{length} bytes is too small for a safetensors file (its 8-byte header length is missing)");

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            basePtr += view.PointerOffset;
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePtr, 8));
            if (headerLength > (ulong)(length - 8) || headerLength > SafetensorsHeader.MaxHeaderLength)
                throw new SafetensorsException(SafetensorsError.HeaderLengthOutOfRange, path, null,
                    $"header length {headerLength} exceeds the file ({length} bytes) or the 100 MB limit");
            var header = new ReadOnlySpan<byte>(basePtr + 8, (int)headerLength);
            long dataLength = length - 8 - (long)headerLength;
            var (tensors, metadata) = SafetensorsHeader.Parse(header, dataLength, path);
            return new SafetensorsFile(path, map, view, basePtr + 8 + (long)headerLength, tensors, metadata);
        }
        catch
        {
            if (view is not null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                view.Dispose();
            }
            map.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGetInfo(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    public SafetensorsTensorInfo GetInfo(string name) =>
        _byName.TryGetValue(name, out var info) ? info
            : throw new SafetensorsException(SafetensorsError.TensorNotFound, Path, name, "no such tensor in the file");

    /// <summary>The raw little-endian bytes of a tensor, valid while the file is open.</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensorInfo info)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ReadOnlySpan<byte>(_data + info.Begin, checked((int)info.ByteLength));
    }

    /// <summary>The tensor's values converted to fp32 (floating and integer dtypes).</summary>
    public float[] ReadSingles(string name)
    {
        var info = GetInfo(name);
        var result = new float[info.ElementCount];
        ConvertToSingles(info, result);
        return result;
    }

    /// <summary>An integer tensor's values (I64, I32, U8, ...) as longs.</summary>
    public long[] ReadInt64(string name)
    {
        var info = GetInfo(name);
        var bytes = GetBytes(info);
        return info.DType switch
        {
            SafetensorsDType.I64 => MemoryMarshal.Cast<byte, long>(bytes).ToArray(),
            SafetensorsDType.I32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(bytes).ToArray(), v => (long)v),
            SafetensorsDType.U8 or SafetensorsDType.BOOL => Array.ConvertAll(bytes.ToArray(), v => (long)v),
            _ => throw new SafetensorsException(SafetensorsError.UnsupportedConversion, Path, name, $"{info.DType} is not an integer dtype"),
        };
    }

    /// <summary>Uploads a tensor to a backend, converting it to <paramref name="dtype"/> (F16 stays F16 when asked to).</summary>
    public Tensor Load(Backend backend, string name, DType dtype = DType.F32)
    {
        var info = GetInfo(name);
        var shape = new TensorShape(info.Shape);
        if (info.DType == SafetensorsDType.F16)
            return backend.FromHost(MemoryMarshal.Cast<byte, Half>(GetBytes(info)), shape, dtype);
        if (info.DType == SafetensorsDType.F32)
            return backend.FromHost(MemoryMarshal.Cast<byte, float>(GetBytes(info)), shape, dtype);
        return backend.FromHost(ReadSingles(name), shape, dtype);
    }

    private void ConvertToSingles(SafetensorsTensorInfo info, Span<float> destination)
    {
        var bytes = GetBytes(info);
        switch (info.DType)
        {
            case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination); break;
            case SafetensorsDType.F16: HalfConversion.ToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination); break;
            case SafetensorsDType.BF16: HalfConversion.BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), destination); break;
            case SafetensorsDType.F64: Convert(MemoryMarshal.Cast<byte, double>(bytes), destination, v => (float)v); break;
            case SafetensorsDType.I64: Convert(MemoryMarshal.Cast<byte, long>(bytes), destination, v => v); break;
            case SafetensorsDType.I32: Convert(MemoryMarshal.Cast<byte, int>(bytes), destination, v => v); break;
            case SafetensorsDType.U8 or SafetensorsDType.BOOL: Convert(bytes, destination, v => v); break;
            default:
                throw new SafetensorsException(SafetensorsError.UnsupportedConversion, Path, info.Name, $"{info.DType} cannot be converted to float32");
        }
    }

    private static void Convert<T>(ReadOnlySpan<T> source, Span<float> destination, Func<T, float> convert)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = convert(source[i]);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
