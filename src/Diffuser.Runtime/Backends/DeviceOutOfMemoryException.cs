using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>The device could not allocate a buffer, even after the pool freed the buffers it kept for reuse.</summary>
public sealed class DeviceOutOfMemoryException(string device, long length, DType dtype, Exception inner)
    : DiffuserException($"{device} is out of memory: a buffer of {length:N0} {dtype} elements ({length * dtype.SizeInBytes() / 1048576.0:N1} MiB) " +
                        "does not fit beside the tensors in use (weights and activations). A smaller image or batch, fp16, or a larger device would fit.", inner)
{
    public long Length { get; } = length;
    public DType DType { get; } = dtype;
}
