using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>
/// Recycles device buffers by exact (dtype, length). A diffusion step asks for the same sizes every time,
/// so after the first step every request is served from the pool and nothing is allocated. Buffers kept for reuse
/// give way when the device runs out of memory (the sizes of an earlier resolution, say): the pool frees them all
/// and allocates again before the error reaches the caller. Nothing is freed before the device has drained the work
/// already queued: a buffer handed back may still be read by it (the host runs ahead of the device).
/// </summary>
public sealed class BufferPool : IDisposable
{
    private readonly Dictionary<(DType, long), Stack<DeviceBuffer>> _free = new();
    private readonly Func<long, DType, DeviceBuffer> _allocate;
    private readonly Action _drain;
    private readonly Lock _lock = new();

    /// <param name="allocate">Allocates a buffer; throws <see cref="DeviceOutOfMemoryException"/> when the device is full.</param>
    /// <param name="drain">Waits until the work queued on the device is done.</param>
    public BufferPool(Func<long, DType, DeviceBuffer> allocate, Action drain)
    {
        _allocate = allocate;
        _drain = drain;
    }

    /// <summary>Buffers created since the pool was made (a steady state stops increasing this).</summary>
    public long Allocations { get; private set; }
    public long BytesAllocated { get; private set; }
    public long BytesFree { get; private set; }

    public DeviceBuffer Rent(long length, DType dtype)
    {
        lock (_lock)
        {
            if (_free.TryGetValue((dtype, length), out var stack) && stack.TryPop(out var buffer))
            {
                BytesFree -= buffer.SizeInBytes;
                return buffer;
            }
        }
        var fresh = Allocate(length, dtype);
        lock (_lock)
        {
            Allocations++;
            BytesAllocated += fresh.SizeInBytes;
        }
        return fresh;
    }

    private DeviceBuffer Allocate(long length, DType dtype)
    {
        try
        {
            return _allocate(length, dtype);
        }
        catch (DeviceOutOfMemoryException) when (BytesFree > 0)
        {
            Trim();
            return _allocate(length, dtype);
        }
    }

    public void Return(DeviceBuffer buffer)
    {
        lock (_lock)
        {
            var key = (buffer.DType, buffer.Length);
            if (!_free.TryGetValue(key, out var stack)) _free[key] = stack = new Stack<DeviceBuffer>();
            stack.Push(buffer);
            BytesFree += buffer.SizeInBytes;
        }
    }

    /// <summary>Frees a rented buffer for good instead of keeping it (one of a size nothing will ask for again).</summary>
    public void Free(DeviceBuffer buffer)
    {
        _drain();
        lock (_lock) BytesAllocated -= buffer.SizeInBytes;
        buffer.Dispose();
    }

    /// <summary>Frees every pooled buffer (buffers still held by tensors are unaffected).</summary>
    public void Trim()
    {
        _drain();
        lock (_lock)
        {
            foreach (var stack in _free.Values)
                while (stack.TryPop(out var b))
                {
                    BytesAllocated -= b.SizeInBytes;
                    b.Dispose();
                }
            BytesFree = 0;
        }
    }

    public void Dispose() => Trim();
}
