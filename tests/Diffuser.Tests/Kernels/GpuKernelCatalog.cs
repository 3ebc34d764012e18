using System.Reflection;
using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using ILGPU;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Every GPU kernel of Diffuser.Kernels as the CUDA backend loads it: each public static void method of a
/// <c>*Kernels</c> class, instantiated with each struct of the assembly that meets its type parameter's constraints
/// (fp32 and fp16 views; the PTX tensor-core warps, not the emulated ones, which exist for the CPU accelerator).
/// Found by reflection, so a new kernel is covered without being listed (generic structs closed over those candidates
/// too, such as the PTX warp cut to a tile's first rows, <see cref="FirstRowsMma{TM}"/>). The tensor-core kernels as the launchers
/// specialise them for Stable Diffusion (<see cref="SpecializedKernels"/>) are there too: they are what runs.
/// </summary>
public static class GpuKernelCatalog
{
    /// <summary>
    /// The largest group the launchers start (<see cref="LaunchGeometry.ElementGroup"/>, <c>TiledMatmul.Threads</c>,
    /// <see cref="AttentionKernels.Threads"/>); the tensor-core GEMM and convolution <see cref="TensorCoreLayout.Threads"/>,
    /// the tensor-core attention <see cref="FlashAttentionLayout.Threads"/>; implicitly grouped kernels get a size ILGPU
    /// fits to their registers.
    /// </summary>
    public static int? GroupSize(MethodInfo kernel) =>
        kernel.GetParameters().FirstOrDefault()?.ParameterType.IsAssignableTo(typeof(IIndex)) == true ? null
        : kernel.DeclaringType == typeof(FlashAttentionKernels) ? FlashAttentionLayout.Threads
        : kernel.DeclaringType == typeof(SpecializedKernels) && kernel.Name.StartsWith("Attention", StringComparison.Ordinal) ? FlashAttentionLayout.Threads
        : kernel.DeclaringType == typeof(TensorCoreKernels) && kernel.Name is nameof(TensorCoreKernels.Gemm) or nameof(TensorCoreKernels.Conv2d) or nameof(TensorCoreKernels.Conv2dBlocked)
            || kernel.DeclaringType == typeof(SpecializedKernels) && kernel.Name.StartsWith("TensorCore", StringComparison.Ordinal) ? TensorCoreLayout.Threads
        : LaunchGeometry.ElementGroup;

    public static IReadOnlyDictionary<string, MethodInfo> All { get; } = Find().ToDictionary(Name);

    public static string Name(MethodInfo kernel) =>
        $"{kernel.DeclaringType!.Name}.{kernel.Name}" + (kernel.IsGenericMethod ? Arguments(kernel.GetGenericArguments()) : "");

    private static string Arguments(Type[] types) => $"<{string.Join(", ", types.Select(TypeName))}>";

    private static string TypeName(Type t) => t.IsGenericType ? t.Name[..t.Name.IndexOf('`')] + Arguments(t.GetGenericArguments()) : t.Name;

    /// <summary>
    /// Every kernel, but a warp group cut to a tile's first rows, which no launcher loads (such products run on warps),
    /// and unspecialised the tensor-core GEMMs and the stream-K kernels: they are held as SD specialises them
    /// (<see cref="SpecializedKernels"/>), as every launch compiles them. Unspecialised, every epilogue path (GEGLU,
    /// activations, bias, residual, both operand layouts) is live at once: the stream-K GEMM spilled, and the GEMM by
    /// the grid sat at 255 registers, spilling or not with the kernels compiled before it in its ILGPU context.
    /// </summary>
    private static IEnumerable<MethodInfo> Find() => FromKernelsAssembly()
        .Where(k => !Name(k).Contains(nameof(StreamKDeal), StringComparison.Ordinal) && !(k.DeclaringType == typeof(TensorCoreKernels) && k.Name == nameof(TensorCoreKernels.Gemm)))
        .Concat(typeof(SpecializedKernels).GetMethods(BindingFlags.Public | BindingFlags.Static))
        .Where(k => !Name(k).Contains($"{nameof(FirstRowsMma<PtxWarpMma>)}<{nameof(WarpGroupMma)}>", StringComparison.Ordinal));

    private static IEnumerable<MethodInfo> FromKernelsAssembly()
    {
        var assembly = typeof(LaunchGeometry).Assembly;
        var exported = assembly.GetExportedTypes().Where(t => t.IsValueType && !t.Name.StartsWith("Emulated", StringComparison.Ordinal)).ToArray();
        var closed = exported.Where(t => !t.IsGenericTypeDefinition).ToArray();
        // Generic structs of one type parameter (a warp cut to a tile's first rows, an operand over a copy mode), closed
        // over each candidate that meets it: kernels can take them as type arguments too.
        var structs = closed.Concat(exported.Where(t => t.IsGenericTypeDefinition && t.GetGenericArguments().Length == 1)
            .SelectMany(g => closed.Where(c => Meets(c, g.GetGenericArguments()[0])).Select(c => g.MakeGenericType(c)))).ToArray();
        foreach (var type in assembly.GetExportedTypes().Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Kernels", StringComparison.Ordinal)))
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.ReturnType == typeof(void)))
            {
                if (!method.IsGenericMethodDefinition)
                {
                    yield return method;
                    continue;
                }
                foreach (var arguments in Instantiations(method.GetGenericArguments(), structs))
                    yield return method.MakeGenericMethod(arguments);
            }
    }

    /// <summary>Every choice of one candidate per type parameter (the tensor-core kernels take a warp and a copy mode).</summary>
    private static IEnumerable<Type[]> Instantiations(Type[] parameters, Type[] structs) => parameters.Aggregate(
        (IEnumerable<Type[]>)[[]], (prefixes, parameter) => prefixes.SelectMany(p => structs.Where(s => Meets(s, parameter)).Select(s => (Type[])[.. p, s])));

    private static bool Meets(Type candidate, Type parameter) => parameter.GetGenericParameterConstraints().All(constraint =>
        constraint.ContainsGenericParameters
            ? candidate.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == constraint.GetGenericTypeDefinition()
                && i.GetGenericArguments().SequenceEqual([candidate]))
            : candidate.IsAssignableTo(constraint));
}
