using System.Reflection;
using Diffuser.Kernels.Random;
using Diffuser.Kernels.Sampler;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using System.Text.RegularExpressions;

using Diffuser.Tests.Kernels;

namespace Diffuser.Tests.Schedulers;

/// <summary>
/// The sampler and noise kernels compiled by ILGPU's CUDA (PTX) and OpenCL backends without a device: the GPU
/// frontends accept them, and the noise kernel's float work is only what keeps it bit-identical everywhere.
/// </summary>
public class KernelCompilationTests(PtxCompiler ptx) : IDisposable
{
    private readonly Context _context = Context.Create(builder => builder.CPU());

    public static TheoryData<string> Kernels() => new(nameof(SamplerKernels.Step), nameof(RandomKernels.Normal));

    private static MethodInfo Kernel(string name) => name == nameof(SamplerKernels.Step)
        ? typeof(SamplerKernels).GetMethod(name)! : typeof(RandomKernels).GetMethod(name)!;

    private string Ptx(string name) =>
        ptx.Compile(Kernel(name).DeclaringType!, name, CudaArchitecture.SM_75, CudaInstructionSet.ISA_75);

    private string OpenCl(string name)
    {
        var backend = new CLBackend(_context, new CLCapabilityContext(false, false, false, false, false), CLDeviceVendor.Nvidia, CLCVersion.CL20);
        var compiled = backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(Kernel(name)), KernelSpecialization.Empty);
        return ((CLCompiledKernel)compiled).Source;
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesForCudaAndOpenCl(string name)
    {
        Assert.Contains(".entry", Ptx(name));
        Assert.Contains("kernel void", OpenCl(name));
    }

    /// <summary>
    /// Floating point in the noise kernel is one int64 → fp32 conversion (round to nearest even) and one exact
    /// multiply by 2⁻⁵⁸ per sample: nothing a GPU compiler could fuse or approximate differently.
    /// </summary>
    [Fact]
    public void NoiseKernelFloatWorkIsExactOnEveryDevice()
    {
        var floatOps = Regex.Matches(Ptx(nameof(RandomKernels.Normal)), @"^\s*([a-z]+(\.[a-z0-9]+)*\.f(32|64)[.a-z0-9]*)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Where(op => !op.StartsWith("mov.") && !op.StartsWith("st.") && !op.StartsWith("ld.")).ToHashSet();
        Assert.Equal(["cvt.rn.f32.s64", "mul.f32"], floatOps.Order());
        Assert.DoesNotMatch(@"\b(log|exp|sin|cos|sqrt|rsqrt|fma|mad|native_\w+)\s*\(", OpenCl(nameof(RandomKernels.Normal)));
    }

    public void Dispose()
    {
        _context.Dispose();
        GC.SuppressFinalize(this);
    }
}
