using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>
/// The ops interface that models, schedulers and pipelines call. Public methods validate shapes and allocate the
/// result from the pool; each backend implements the protected <c>*Core</c> methods. Op families live in partial
/// files (<c>Backend.Gemm.cs</c>, <c>Backend.Conv.cs</c>, ...).
/// </summary>
public abstract partial class Backend : IDisposable
{
    private readonly BufferPool _pool;

    protected Backend()
    {
        _pool = new BufferPool(AllocateOrReport, Synchronize);
    }

    /// <summary>Short name as the <c>--device</c> option spells it: cpu, cuda, opencl, ilgpu-cpu.</summary>
    public abstract string Name { get; }

    /// <summary>The device this backend runs on.</summary>
    public abstract DeviceInfo Device { get; }

    public BufferPool Pool => _pool;

    protected abstract DeviceBuffer AllocateBuffer(long length, DType dtype);

    /// <summary>Whether <paramref name="e"/>, thrown by <see cref="AllocateBuffer"/>, says the device is out of memory.</summary>
    protected virtual bool IsOutOfMemory(Exception e) => e is OutOfMemoryException;

    private DeviceBuffer AllocateOrReport(long length, DType dtype)
    {
        try
        {
            return AllocateBuffer(length, dtype);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            throw new DeviceOutOfMemoryException(Device.Name, length, dtype, e);
        }
    }

    protected abstract void UploadCore(ReadOnlySpan<float> source, Tensor destination);
    protected abstract void UploadCore(ReadOnlySpan<Half> source, Tensor destination);
    protected abstract void DownloadCore(Tensor source, Span<float> destination);

    /// <summary>Waits until all queued work on the device has finished.</summary>
    public abstract void Synchronize();

    /// <summary>An uninitialised tensor from the pool.</summary>
    public Tensor Allocate(TensorShape shape, DType dtype = DType.F32) => Allocate(shape, dtype, TensorLayout.Dense);

    /// <summary>A new tensor of <paramref name="shape"/> stored in <paramref name="layout"/> (as many elements as dense).</summary>
    protected Tensor Allocate(TensorShape shape, DType dtype, TensorLayout layout)
    {
        var buffer = _pool.Rent(shape.ElementCount, dtype);
        return new Tensor(this, buffer, 0, shape, ownsBuffer: true) { Layout = layout };
    }

    /// <summary>A new tensor that <paramref name="fill"/> writes; freed again if it throws.</summary>
    public Tensor Allocate(TensorShape shape, DType dtype, Action<Tensor> fill)
    {
        var t = Allocate(shape, dtype);
        try
        {
            fill(t);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Uploads host values into a new tensor stored as <paramref name="dtype"/>.</summary>
    public Tensor FromHost(ReadOnlySpan<float> values, TensorShape shape, DType dtype = DType.F32)
    {
        RequireLength(values.Length, shape);
        var t = Allocate(shape, dtype);
        using (Profile("upload", 0, t)) UploadCore(values, t);
        return t;
    }

    /// <summary>Uploads fp16 host values into a new tensor stored as <paramref name="dtype"/>.</summary>
    public Tensor FromHost(ReadOnlySpan<Half> values, TensorShape shape, DType dtype = DType.F32)
    {
        RequireLength(values.Length, shape);
        var t = Allocate(shape, dtype);
        using (Profile("upload", 0, t)) UploadCore(values, t);
        return t;
    }

    /// <summary>Overwrites <paramref name="destination"/> with host values.</summary>
    public void Upload(ReadOnlySpan<float> values, Tensor destination)
    {
        RequireOwn(destination);
        RequireLength(values.Length, destination.Shape);
        using (Profile("upload", 0, destination)) UploadCore(values, destination);
    }

    /// <summary>Overwrites <paramref name="destination"/> with fp16 host values.</summary>
    public void Upload(ReadOnlySpan<Half> values, Tensor destination)
    {
        RequireOwn(destination);
        RequireLength(values.Length, destination.Shape);
        using (Profile("upload", 0, destination)) UploadCore(values, destination);
    }

    /// <summary>Copies a tensor to host memory as fp32.</summary>
    public void CopyToHost(Tensor source, Span<float> destination)
    {
        RequireOwn(source);
        if (destination.Length != source.Length)
            throw new DiffuserException($"Host span of {destination.Length} elements cannot receive tensor {source.Shape}.");
        using (Profile("download", 0, source)) DownloadCore(source, destination);
    }

    internal void Release(DeviceBuffer buffer) => _pool.Return(buffer);

    internal void Free(DeviceBuffer buffer) => _pool.Free(buffer);

    private static void RequireLength(long length, TensorShape shape)
    {
        if (length != shape.ElementCount)
            throw new DiffuserException($"{length} values do not fill shape {shape} ({shape.ElementCount} elements).");
    }

    /// <summary>Fails unless the tensor lives on this backend.</summary>
    protected void RequireOwn(Tensor t)
    {
        if (!ReferenceEquals(t.Backend, this))
            throw new DiffuserException($"{t} belongs to backend {t.Backend.Name}, not {Name}.");
    }

    public virtual void Dispose()
    {
        _pool.Dispose();
        GC.SuppressFinalize(this);
    }
}
