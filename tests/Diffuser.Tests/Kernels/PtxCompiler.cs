using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Kernels compiled to PTX by ILGPU's CUDA backend without a GPU, as the Release launchers compile them (O2, the
/// algorithms library): for an H100/H200 (sm_90) unless told otherwise. Each kernel in a context of its own: in a
/// shared one a kernel's code depends on which kernels were compiled before it (the methods they share are already
/// transformed), and test order differs with the checkout's path (the unspecialised GEMM, at 255 registers, spilled
/// 8 bytes in one clone and none in another).
/// </summary>
public sealed class PtxCompiler
{

    public string Compile(Type type, string name, params Type[] typeArguments) =>
        Compile(type, name, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, typeArguments);

    public string Compile(Type type, string name, CudaArchitecture architecture, CudaInstructionSet instructionSet, params Type[] typeArguments) =>
        CompileKernel(type, name, architecture, instructionSet, typeArguments).PTXAssembly;

    public PTXCompiledKernel CompileKernel(Type type, string name, params Type[] typeArguments) =>
        CompileKernel(type, name, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, typeArguments);

    /// <summary>Each kernel compiled once for each target: the test classes check several things of one kernel.</summary>
    private readonly ConcurrentDictionary<string, Lazy<PTXCompiledKernel>> _compiled = new();

    private PTXCompiledKernel CompileKernel(Type type, string name, CudaArchitecture architecture, CudaInstructionSet instructionSet, Type[] typeArguments) =>
        _compiled.GetOrAdd($"{type.FullName}.{name}<{string.Join(", ", typeArguments.Select(t => t.FullName))}> {architecture} {instructionSet}",
            _ => new(() => CompileUncached(type, name, architecture, instructionSet, typeArguments))).Value;

    private PTXCompiledKernel CompileUncached(Type type, string name, CudaArchitecture architecture, CudaInstructionSet instructionSet, Type[] typeArguments)
    {
        var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new ArgumentException($"{type.Name} has no public static {name}");
        if (typeArguments.Length > 0) method = method.MakeGenericMethod(typeArguments);
        using var context = Context.Create(builder => builder.DefaultCPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, instructionSet, null);
        var entry = method.GetParameters().FirstOrDefault()?.ParameterType.IsAssignableTo(typeof(IIndex)) == true
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        return (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
    }
}
