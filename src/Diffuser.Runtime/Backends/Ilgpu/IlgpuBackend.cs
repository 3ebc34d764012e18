using System.Runtime.InteropServices;
using Diffuser.Kernels.Convert;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Diffuser.Kernels.TensorCore;
using Half = System.Half;
using IlgpuHalf = ILGPU.Half;

namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// The GPU backend: every op is an ILGPU kernel launched on the accelerator's default stream (CUDA, OpenCL, or
/// ILGPU's CPU accelerator for kernel tests). The kernels are generic over the storage type, with one kernel set for
/// fp32 tensors and one for fp16 tensors; each op family's launcher loads its kernels for this accelerator on first
/// use and keeps them; nothing is compiled per call. Create instances through <see cref="BackendFactory"/>.
/// </summary>
public sealed partial class IlgpuBackend : Backend
{
    private readonly Accelerator _accelerator;
    private readonly IlgpuKernels<F32View> _single;
    private readonly IlgpuKernels<F16View> _half;
    private readonly Lazy<ConvertLauncher> _convert;
    private readonly Lazy<SamplerLauncher> _sampler;
    private MemoryBuffer1D<int, Stride1D.Dense>? _ids;

    /// <param name="tensorCores">Null: <see cref="TensorCoreMode.Hardware"/> where the device has them (unless the
    /// environment variable DIFFUSER_TENSOR_CORES is 0; <see cref="TensorCoreMode.WarpGroup"/> on compute capability 9.0
    /// where DIFFUSER_WGMMA is 1), otherwise none.</param>
    /// <param name="options">What the kernels use; null: <see cref="KernelOptions.FromEnvironment"/>.</param>
    internal IlgpuBackend(Accelerator accelerator, string name, DeviceInfo device, TensorCoreMode? tensorCores = null, KernelOptions? options = null)
    {
        _accelerator = accelerator;
        Name = name;
        TensorCores = tensorCores ?? DefaultTensorCores(accelerator);
        Options = options ?? KernelOptions.FromEnvironment();
        if (Options.KernelCache is { } folder)
        {
            var cache = new KernelCache(folder);
            cache.Prune();   // each build of the kernels adds files of its own
            KernelCache.Attach(accelerator, cache);
        }
        Device = device with { Capability = device.Capability + CapabilityNote(device) };
        _single = new(accelerator, t => new F32View(Floats(t)), Scratch, Options);
        Func<Tensor, F16View> half = t => new F16View(HalfView(t).Cast<ushort>());
        _half = TensorCores switch
        {
            TensorCoreMode.Hardware => TensorCoreSet<PtxWarpMma, PtxWarpMma, AsyncCopies>(half),
            TensorCoreMode.WarpGroup => TensorCoreSet<WarpGroupMma, PtxWarpMma, AsyncCopies>(half),
            TensorCoreMode.Emulated => TensorCoreSet<EmulatedWarpMma, EmulatedWarpMma, EmulatedAsyncCopies>(half),
            TensorCoreMode.EmulatedWarpGroup => TensorCoreSet<EmulatedWarpGroupMma, EmulatedWarpMma, EmulatedAsyncCopies>(half),
            _ => new IlgpuKernels<F16View>(accelerator, half, Scratch, Options),
        };
        _convert = new(() => new ConvertLauncher(accelerator));
        _sampler = new(() => new SamplerLauncher(accelerator));
    }

    internal TensorCoreMode TensorCores { get; }

    internal KernelOptions Options { get; }

    /// <summary>mma.sync from compute capability 8.0 on; wgmma for GEMM and convolution on 9.0 where DIFFUSER_WGMMA=1 asks for it (not yet the default: unmeasured).</summary>
    private static TensorCoreMode DefaultTensorCores(Accelerator accelerator) =>
        accelerator is CudaAccelerator { Architecture: { Major: >= 8 } } cuda && KernelOptions.Enabled("DIFFUSER_TENSOR_CORES")
            ? cuda.Architecture is { Major: 9, Minor: 0 } && Environment.GetEnvironmentVariable(WarpGroupSwitch) == "1" ? TensorCoreMode.WarpGroup : TensorCoreMode.Hardware
            : TensorCoreMode.None;

    private const string WarpGroupSwitch = "DIFFUSER_WGMMA";

    /// <summary>What the environment switched on or off, shown beside the device's capability ("" for nothing).</summary>
    private string CapabilityNote(DeviceInfo device)
    {
        bool tensorCoresOff = device.Capability.Contains("tensor cores", StringComparison.Ordinal) && TensorCores == TensorCoreMode.None;
        string[] off = [.. tensorCoresOff ? ["DIFFUSER_TENSOR_CORES=0"] : Array.Empty<string>(), .. Options.SwitchedOff(TensorCores != TensorCoreMode.None)];
        string on = TensorCores == TensorCoreMode.WarpGroup ? $" (on: {WarpGroupSwitch}=1)" : "";
        string cache = Options.KernelCache is { } folder ? $" (kernel cache: {folder})" : "";
        return on + (off.Length == 0 ? "" : $" (off: {string.Join(", ", off)})") + cache;
    }

    /// <typeparam name="TM">The warps' tensor cores.</typeparam>
    /// <typeparam name="TR">Those of products of at most 16 rows.</typeparam>
    /// <typeparam name="TC">The copies by cp.async of <typeparamref name="TM"/>'s device (unless switched off: then through registers).</typeparam>
    private IlgpuKernels<F16View> TensorCoreSet<TM, TR, TC>(Func<Tensor, F16View> half) where TM : struct, IWarpMma where TR : struct, IWarpMma where TC : struct, IOperandCopies =>
        Options.AsyncCopies
            ? new TensorCoreKernelSet<TM, TR, TC>(_accelerator, half, Scratch, Options)
            : new TensorCoreKernelSet<TM, TR, RegisterCopies>(_accelerator, half, Scratch, Options);

    /// <summary>The kernel set of a tensor's storage type.</summary>
    private IIlgpuKernels For(Tensor t) => t.DType == DType.F16 ? _half : _single;

    /// <summary>
    /// A pooled fp32 scratch tensor, or null for none. Returning it to the pool right after the launch is safe: every
    /// kernel runs on the one default stream, so a later user of the buffer runs after this kernel.
    /// </summary>
    private Tensor? Scratch(long length) => length > 0 ? Allocate(new TensorShape(checked((int)length))) : null;

    public override string Name { get; }

    public override DeviceInfo Device { get; }

    public override void Synchronize() => _accelerator.Synchronize();

    protected override DeviceBuffer AllocateBuffer(long length, DType dtype) => new IlgpuBuffer(_accelerator, length, dtype);

    /// <summary>The CPU accelerator's as the cpu backend's; CUDA's and OpenCL's by their error codes.</summary>
    protected override bool IsOutOfMemory(Exception e) => base.IsOutOfMemory(e) || e switch
    {
        CudaException cuda => cuda.Error.Contains("OUT_OF_MEMORY", StringComparison.Ordinal),   // CUDA_ERROR_OUT_OF_MEMORY
        CLException cl => cl.Error is CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE or CLError.CL_OUT_OF_RESOURCES or CLError.CL_OUT_OF_HOST_MEMORY,
        _ => false,
    };

    /// <summary>The fp32 elements of a tensor (a sub-view of its buffer).</summary>
    internal static ArrayView<float> Floats(Tensor t) => ((IlgpuBuffer)t.Buffer).Floats.SubView(t.Offset, t.Length);

    /// <summary>As <see cref="Floats"/>, or an empty view for an absent tensor.</summary>
    internal static ArrayView<float> FloatsOrEmpty(Tensor? t) => t is null ? ArrayView<float>.Empty : Floats(t);

    private static ArrayView<IlgpuHalf> HalfView(Tensor t) => ((IlgpuBuffer)t.Buffer).Halves.SubView(t.Offset, t.Length);

    // System.Half and ILGPU.Half are both the IEEE binary16 bit pattern, so spans convert by reinterpretation.
    private static ReadOnlySpan<IlgpuHalf> AsIlgpu(ReadOnlySpan<Half> s) => MemoryMarshal.Cast<Half, IlgpuHalf>(s);

    protected override void UploadCore(ReadOnlySpan<float> source, Tensor destination)
    {
        if (destination.DType == DType.F32)
        {
            Floats(destination).CopyFromCPU(source);
            return;
        }
        var halves = new Half[source.Length];
        HalfConversion.ToHalf(source, halves);
        HalfView(destination).CopyFromCPU(AsIlgpu(halves));
    }

    protected override void UploadCore(ReadOnlySpan<Half> source, Tensor destination)
    {
        if (destination.DType == DType.F16)
        {
            HalfView(destination).CopyFromCPU(AsIlgpu(source));
            return;
        }
        var floats = new float[source.Length];
        HalfConversion.ToSingle(source, floats);
        Floats(destination).CopyFromCPU(floats);
    }

    protected override void DownloadCore(Tensor source, Span<float> destination)
    {
        if (source.DType == DType.F32)
        {
            Floats(source).CopyToCPU(destination);
            return;
        }
        var halves = new Half[source.Length];
        HalfView(source).CopyToCPU(MemoryMarshal.Cast<Half, IlgpuHalf>(halves.AsSpan()));
        HalfConversion.ToSingle(halves, destination);
    }

    protected override void ConvertCore(Tensor x, Tensor y)
    {
        switch (x.DType, y.DType)
        {
            case (DType.F32, DType.F32): Floats(x).CopyTo(Floats(y)); break;
            case (DType.F16, DType.F16): HalfView(x).CopyTo(HalfView(y)); break;
            case (DType.F32, DType.F16): _convert.Value.ToHalf(Floats(x), HalfView(y)); break;
            default: _convert.Value.ToSingle(HalfView(x), Floats(y)); break;
        }
    }

    /// <summary>A device copy of token ids, in a buffer reused across calls.</summary>
    private ArrayView<int> UploadIds(ReadOnlySpan<int> ids)
    {
        if (_ids is null || _ids.Length < ids.Length)
        {
            _ids?.Dispose();
            _ids = _accelerator.Allocate1D<int>(Math.Max(ids.Length, 1));
        }
        ArrayView<int> view = _ids.View.SubView(0, ids.Length);
        view.CopyFromCPU(ids);
        return view;
    }

    public override void Dispose()
    {
        _accelerator.Synchronize();
        base.Dispose();
        _ids?.Dispose();
        _accelerator.Dispose();
    }
}
