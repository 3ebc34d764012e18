using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Diffuser.IO;

/// <summary>The bytes a <see cref="SafetensorsFile"/> reads: a read-only memory-mapped file or pinned memory.</summary>
internal abstract unsafe class SafetensorsMemory : IDisposable
{
    /// <summary>The first byte; valid for <see cref="Length"/> bytes until disposed (null when empty).</summary>
    public abstract byte* Pointer { get; }
    public abstract long Length { get; }
    public abstract void Dispose();

    /// <summary>Maps a file read-only. An empty file is not mapped (the OS refuses to); it has length 0.</summary>
    public static SafetensorsMemory Map(string path) => new MappedFile(path);

    /// <summary>Pins caller-owned memory for as long as the reader lives.</summary>
    public static SafetensorsMemory Pin(ReadOnlyMemory<byte> bytes) => new PinnedMemory(bytes);

    private sealed class MappedFile : SafetensorsMemory
    {
        private readonly MemoryMappedFile? _map;
        private readonly MemoryMappedViewAccessor? _view;
        private readonly byte* _pointer;
        private readonly long _length;
        private bool _disposed;

        public MappedFile(string path)
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            try
            {
                _length = stream.Length;
                if (_length == 0)
                {
                    stream.Dispose();
                    return;
                }
                _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
            try
            {
                _view = _map.CreateViewAccessor(0, _length, MemoryMappedFileAccess.Read);
                byte* basePointer = null;
                _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
                _pointer = basePointer + _view.PointerOffset;
            }
            catch
            {
                _view?.Dispose();
                _map.Dispose();
                throw;
            }
        }

        public override byte* Pointer => _pointer;
        public override long Length => _length;

        public override void Dispose()
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

    private sealed class PinnedMemory(ReadOnlyMemory<byte> bytes) : SafetensorsMemory
    {
        private MemoryHandle _handle = bytes.Pin();

        public override byte* Pointer => (byte*)_handle.Pointer;
        public override long Length { get; } = bytes.Length;

        public override void Dispose() => _handle.Dispose();
    }
}
