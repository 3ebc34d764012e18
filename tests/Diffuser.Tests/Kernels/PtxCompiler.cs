using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

[assembly: AssemblyFixture(typeof(Diffuser.Tests.Kernels.PtxCompiler))]

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Kernels compiled to PTX by ILGPU's CUDA backend without a GPU, as the Release launchers compile them (O2, the
/// algorithms library): for an H100/H200 (sm_90) unless told otherwise. One for the test assembly: each kernel is
/// compiled once for each target, and the test classes share it.
/// <para>
/// In one ILGPU context a kernel's code depends on which kernels were compiled before it (the methods they share are
/// already transformed), and test order differs with the checkout's path: the unspecialised GEMM, at 255 registers,
/// spilled 8 bytes in one clone and none in another. So the catalog's kernels (<see cref="GpuKernelCatalog"/>) are
/// compiled a class at a time: when one is asked for, every catalog kernel of its class, in the order of their names,
/// in a context of the class's own; any other kernel or target in a context of its own. A context per kernel gives
/// the same determinism at over twice the cost (the catalog's 113 kernels of the time took 216 s so here, 94 s a class
/// at a time, 72 s all in one context): the methods the kernels share are transformed again for each.
/// </para>
/// </summary>
public sealed class PtxCompiler
{
    private static readonly CudaArchitecture Architecture = CudaArchitecture.SM_90;
    private static readonly CudaInstructionSet InstructionSet = CudaInstructionSet.ISA_80;

    public string Compile(Type type, string name, params Type[] typeArguments) =>
        Compile(type, name, Architecture, InstructionSet, typeArguments);

    public string Compile(Type type, string name, CudaArchitecture architecture, CudaInstructionSet instructionSet, params Type[] typeArguments) =>
        CompileKernel(type, name, architecture, instructionSet, typeArguments).PTXAssembly;

    public PTXCompiledKernel CompileKernel(Type type, string name, params Type[] typeArguments) =>
        CompileKernel(type, name, Architecture, InstructionSet, typeArguments);

    /// <summary>The catalog's kernels of each class, by catalog name, compiled together on first use.</summary>
    private readonly ConcurrentDictionary<Type, Lazy<IReadOnlyDictionary<string, PTXCompiledKernel>>> _classes = new();

    /// <summary>Other kernels and targets, each compiled once.</summary>
    private readonly ConcurrentDictionary<string, Lazy<PTXCompiledKernel>> _alone = new();

    private PTXCompiledKernel CompileKernel(Type type, string name, CudaArchitecture architecture, CudaInstructionSet instructionSet, Type[] typeArguments)
    {
        var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new ArgumentException($"{type.Name} has no public static {name}");
        if (typeArguments.Length > 0) method = method.MakeGenericMethod(typeArguments);
        string catalogName = GpuKernelCatalog.Name(method);
        if (architecture == Architecture && instructionSet == InstructionSet && GpuKernelCatalog.All.ContainsKey(catalogName))
            return _classes.GetOrAdd(type, t => new(() => CompileClass(t))).Value[catalogName];
        return _alone.GetOrAdd($"{catalogName} {architecture} {instructionSet}", _ => new(() =>
        {
            using var context = NewContext();
            return Compile(context, method, architecture, instructionSet);
        })).Value;
    }

    private static Dictionary<string, PTXCompiledKernel> CompileClass(Type type)
    {
        using var context = NewContext();
        return GpuKernelCatalog.All.Where(k => k.Value.DeclaringType == type).OrderBy(k => k.Key, StringComparer.Ordinal)
            .ToDictionary(k => k.Key, k => Compile(context, k.Value, Architecture, InstructionSet));
    }

    private static Context NewContext() => Context.Create(builder => builder.DefaultCPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));

    private static PTXCompiledKernel Compile(Context context, MethodInfo method, CudaArchitecture architecture, CudaInstructionSet instructionSet)
    {
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, instructionSet, null);
        var entry = method.GetParameters().FirstOrDefault()?.ParameterType.IsAssignableTo(typeof(IIndex)) == true
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        return (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
    }
}
