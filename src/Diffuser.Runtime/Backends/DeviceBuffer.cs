using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>A block of device memory holding <see cref="Length"/> elements of one dtype. Owned by its backend's pool.</summary>
public abstract class DeviceBuffer : IDisposable
{
    protected DeviceBuffer(long length, DType dtype)
    {
        Length = length;
        DType = dtype;
    }

    public long Length { get; }
    public DType DType { get; }
    public long SizeInBytes => Length * DType.SizeInBytes();

    /// <summary>Frees the device memory for good (the pool calls this; tensors return buffers to the pool instead).</summary>
    public abstract void Dispose();
}
