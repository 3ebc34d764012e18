using Diffuser.Backends;

namespace Diffuser.Tensors;

/// <summary>
/// A shape, a dtype and a range of a device buffer. A tensor made by an op owns its buffer and returns it to the
/// backend's pool on <see cref="Dispose"/>; a view (<see cref="Reshape"/>, <see cref="Slice"/>) shares the buffer,
/// owns nothing and is only valid while its source is alive.
/// </summary>
public sealed class Tensor : IDisposable
{
    private DeviceBuffer? _buffer;
    private readonly bool _ownsBuffer;

    internal Tensor(Backend backend, DeviceBuffer buffer, long offset, TensorShape shape, bool ownsBuffer)
    {
        if (offset < 0 || offset + shape.ElementCount > buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Tensor {shape} at offset {offset} exceeds its buffer of {buffer.Length} elements.");
        Backend = backend;
        _buffer = buffer;
        Offset = offset;
        Shape = shape;
        _ownsBuffer = ownsBuffer;
    }

    public Backend Backend { get; }
    public TensorShape Shape { get; }
    /// <summary>How the elements are ordered: dense row-major, or a convolution filter packed for its backend's kernels.</summary>
    public TensorLayout Layout { get; internal init; }
    public DType DType => Buffer.DType;
    public long Length => Shape.ElementCount;
    public int Rank => Shape.Rank;
    /// <summary>Element offset of this tensor inside <see cref="Buffer"/>.</summary>
    public long Offset { get; }
    public bool IsView => !_ownsBuffer;

    public DeviceBuffer Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Tensor), $"Tensor {Shape} was disposed.");

    /// <summary>A view with another shape of the same element count. Use -1 for one inferred dimension.</summary>
    public Tensor Reshape(params int[] dims)
    {
        int infer = Array.IndexOf(dims, -1);
        if (infer >= 0)
        {
            long known = 1;
            for (int i = 0; i < dims.Length; i++) if (i != infer) known *= dims[i];
            dims = (int[])dims.Clone();
            dims[infer] = known == 0 ? 0 : (int)(Length / known);
        }
        RequireDense("reshape");
        var shape = new TensorShape(dims);
        if (shape.ElementCount != Length)
            throw new DiffuserException($"Cannot reshape {Shape} ({Length} elements) to {shape}.");
        return new Tensor(Backend, Buffer, Offset, shape, ownsBuffer: false);
    }

    /// <summary>A view of <paramref name="count"/> entries of the outermost dimension, starting at <paramref name="start"/>.</summary>
    public Tensor Slice(int start, int count)
    {
        RequireDense("slice");
        if (Rank == 0 || start < 0 || count < 0 || start + count > Shape[0])
            throw new DiffuserException($"Slice [{start}, {start + count}) is outside dimension 0 of {Shape}.");
        long inner = Shape.Product(1, Rank);
        return new Tensor(Backend, Buffer, Offset + start * inner, Shape.WithDim(0, count), ownsBuffer: false);
    }

    /// <summary>
    /// Moves this tensor's buffer into a new owning tensor of another shape (same element count) and leaves this
    /// one disposed. Use it to give an op's result its final shape without a copy.
    /// </summary>
    public Tensor Detach(TensorShape shape)
    {
        RequireDense("move");
        if (IsView) throw new DiffuserException($"Cannot move the buffer of view {Shape}: it does not own one.");
        if (shape.ElementCount != Length) throw new DiffuserException($"Cannot reshape {Shape} ({Length} elements) to {shape}.");
        var buffer = Interlocked.Exchange(ref _buffer, null) ?? throw new ObjectDisposedException(nameof(Tensor));
        return new Tensor(Backend, buffer, Offset, shape, ownsBuffer: true);
    }

    /// <summary>Copies the tensor to the host as fp32 (converting from its storage dtype).</summary>
    public float[] ToArray()
    {
        var result = new float[Length];
        Backend.CopyToHost(this, result);
        return result;
    }

    /// <summary>Views of a packed filter would read it as dense.</summary>
    private void RequireDense(string what)
    {
        if (Layout != TensorLayout.Dense) throw new DiffuserException($"Cannot {what} {Shape}: it is a {Layout} only Conv2d reads.");
    }

    public override string ToString() => $"Tensor{Shape} {DType} on {Backend.Name}";

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _ownsBuffer) Backend.Release(buffer);
    }

    /// <summary>
    /// As <see cref="Dispose"/>, but the buffer is freed for good instead of going back to the pool: for a tensor of a
    /// size nothing will ask for again (a filter's dense copy once it is packed), which the pool would keep forever.
    /// </summary>
    internal void Free()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _ownsBuffer) Backend.Free(buffer);
    }
}
