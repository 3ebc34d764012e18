using System.Reflection;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// The members of ILGPU 1.5.3 that loading a kernel from its PTX needs and ILGPU keeps internal, reached by
/// reflection (pinned ILGPU version; <c>Sm90aKernelsTests</c> and <c>KernelCacheTests</c> fail if they move): a
/// compiled kernel's entry point, the constructor of a PTX kernel from its text, and an accelerator's backend.
/// </summary>
internal static class IlgpuInternals
{
    private static readonly ConstructorInfo PtxKernel = typeof(PTXCompiledKernel).GetConstructors(BindingFlags.NonPublic | BindingFlags.Instance).Single();
    private static readonly PropertyInfo EntryPointOf = typeof(CompiledKernel).GetProperty("EntryPoint", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingMemberException(nameof(CompiledKernel), "EntryPoint");
    private static readonly PropertyInfo BackendOf = typeof(Accelerator).GetProperty("Backend", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingMemberException(nameof(Accelerator), "Backend");

    public static EntryPoint EntryPoint(this CompiledKernel compiled) => (EntryPoint)EntryPointOf.GetValue(compiled)!;

    public static Backend Backend(this Accelerator accelerator) => (Backend)BackendOf.GetValue(accelerator)!;

    /// <summary>A PTX kernel of <paramref name="entryPoint"/> with <paramref name="ptx"/> as its code (no kernel information).</summary>
    public static PTXCompiledKernel NewPtxKernel(ILGPU.Context context, EntryPoint entryPoint, CompiledKernel.KernelInfo? info, string ptx) =>
        (PTXCompiledKernel)PtxKernel.Invoke([context, entryPoint, info, ptx]);
}
