using System.Runtime.InteropServices;
using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Convert;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Embedding;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Kernels.Resample;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;
using ILGPU;
using ILGPU.Runtime;
using Half = System.Half;
using IlgpuHalf = ILGPU.Half;

namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// The GPU backend: every op is an ILGPU kernel launched on the accelerator's default stream (CUDA, OpenCL, or
/// ILGPU's CPU accelerator for kernel tests). Each op family's launcher loads its kernels for this accelerator on
/// first use and keeps them; nothing is compiled per call. Create instances through <see cref="BackendFactory"/>.
/// </summary>
public sealed partial class IlgpuBackend : Backend
{
    private readonly Accelerator _accelerator;
    private readonly Lazy<GemmLauncher> _gemm;
    private readonly Lazy<Conv2dLauncher> _conv;
    private readonly Lazy<NormLauncher> _norm;
    private readonly Lazy<AttentionLauncher> _attention;
    private readonly Lazy<ElementwiseLauncher> _elementwise;
    private readonly Lazy<LayoutLauncher> _layout;
    private readonly Lazy<ResampleLauncher> _resample;
    private readonly Lazy<EmbeddingLauncher> _embedding;
    private readonly Lazy<ConvertLauncher> _convert;
    private readonly Lazy<SamplerLauncher> _sampler;
    private MemoryBuffer1D<int, Stride1D.Dense>? _ids;

    internal IlgpuBackend(Accelerator accelerator, string name, DeviceInfo device)
    {
        _accelerator = accelerator;
        Name = name;
        Device = device;
        _gemm = new(() => new GemmLauncher(accelerator));
        _conv = new(() => new Conv2dLauncher(accelerator));
        _norm = new(() => new NormLauncher(accelerator));
        _attention = new(() => new AttentionLauncher(accelerator));
        _elementwise = new(() => new ElementwiseLauncher(accelerator));
        _layout = new(() => new LayoutLauncher(accelerator));
        _resample = new(() => new ResampleLauncher(accelerator));
        _embedding = new(() => new EmbeddingLauncher(accelerator));
        _convert = new(() => new ConvertLauncher(accelerator));
        _sampler = new(() => new SamplerLauncher(accelerator));
    }

    public override string Name { get; }

    public override DeviceInfo Device { get; }

    public override void Synchronize() => _accelerator.Synchronize();

    protected override DeviceBuffer AllocateBuffer(long length, DType dtype) => new IlgpuBuffer(_accelerator, length, dtype);

    /// <summary>The fp32 elements of a tensor (a sub-view of its buffer).</summary>
    private static ArrayView<float> View(Tensor t) => ((IlgpuBuffer)t.Buffer).Floats.SubView(t.Offset, t.Length);

    private static ArrayView<float> ViewOrEmpty(Tensor? t) => t is null ? ArrayView<float>.Empty : View(t);

    private static ArrayView<IlgpuHalf> HalfView(Tensor t) => ((IlgpuBuffer)t.Buffer).Halves.SubView(t.Offset, t.Length);

    // System.Half and ILGPU.Half are both the IEEE binary16 bit pattern, so spans convert by reinterpretation.
    private static ReadOnlySpan<IlgpuHalf> AsIlgpu(ReadOnlySpan<Half> s) => MemoryMarshal.Cast<Half, IlgpuHalf>(s);

    protected override void UploadCore(ReadOnlySpan<float> source, Tensor destination)
    {
        if (destination.DType == DType.F32)
        {
            View(destination).CopyFromCPU(source);
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
        View(destination).CopyFromCPU(floats);
    }

    protected override void DownloadCore(Tensor source, Span<float> destination)
    {
        if (source.DType == DType.F32)
        {
            View(source).CopyToCPU(destination);
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
            case (DType.F32, DType.F32): View(x).CopyTo(View(y)); break;
            case (DType.F16, DType.F16): HalfView(x).CopyTo(HalfView(y)); break;
            case (DType.F32, DType.F16): _convert.Value.ToHalf(View(x), HalfView(y)); break;
            default: _convert.Value.ToSingle(HalfView(x), View(y)); break;
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
