using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// Loads kernels whose PTX holds Hopper's architecture-specific instructions (wgmma, sm_90a). ILGPU 1.5.3 writes
/// <c>.target sm_80</c> at most (its capabilities need nothing newer) and has no "a" targets, and ptxas rejects wgmma
/// anywhere else. So such a kernel is specialised and compiled as ILGPU's own loaders do it (its
/// <c>SpecializedValue</c> arguments decide each compilation), and its PTX's target is rewritten to sm_90a before the
/// driver loads it. ILGPU gives the text only to an internal constructor of its compiled kernel, reached by reflection
/// here, as are the accelerator's backend and a compiled kernel's entry point (pinned ILGPU version;
/// <c>Sm90aKernelsTests</c> fails if they move). Other accelerators (ILGPU's CPU one in tests) load the compiled kernel
/// as it is.
/// </summary>
public static partial class Sm90aKernels
{
    private static readonly ConstructorInfo PtxKernel = typeof(PTXCompiledKernel).GetConstructors(BindingFlags.NonPublic | BindingFlags.Instance).Single();
    private static readonly PropertyInfo EntryPointOf = typeof(CompiledKernel).GetProperty("EntryPoint", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingMemberException(nameof(CompiledKernel), "EntryPoint");
    private static readonly PropertyInfo BackendOf = typeof(Accelerator).GetProperty("Backend", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingMemberException(nameof(Accelerator), "Backend");

    /// <summary>
    /// The launcher of explicitly grouped <paramref name="kernel"/> (a generic method made concrete, with
    /// SpecializedValue parameters): <typeparamref name="TDelegate"/> takes the stream, the KernelConfig, then the
    /// kernel's parameters, as ILGPU's <c>Accelerator.LoadKernel&lt;TDelegate&gt;</c> does.
    /// </summary>
    public static TDelegate Load<TDelegate>(Accelerator accelerator, MethodInfo kernel) where TDelegate : Delegate
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var method = ((Backend)BackendOf.GetValue(accelerator)!).PreCompileKernelMethod(entry);
        return Kernel.CreateSpecializedLauncher<TDelegate, Sm90aLoader>(accelerator, entry, KernelSpecialization.Empty, method, default);
    }

    /// <summary>The PTX with its target set to sm_90a and its ISA version raised to 8.0 where lower (wgmma's first).</summary>
    public static string ForSm90a(string ptx)
    {
        string targeted = TargetLine().Replace(ptx, ".target sm_90a", 1);
        return VersionLine().Replace(targeted, m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 8.0 ? ".version 8.0" : m.Value, 1);
    }

    /// <summary><paramref name="compiled"/>, as a PTX kernel for sm_90a (anything else unchanged).</summary>
    public static CompiledKernel Retargeted(CompiledKernel compiled) => compiled is PTXCompiledKernel ptx
        ? (CompiledKernel)PtxKernel.Invoke([ptx.Context, EntryPointOf.GetValue(ptx), ptx.Info, ForSm90a(ptx.PTXAssembly)])
        : compiled;

    /// <summary>ILGPU's default loader of explicitly grouped kernels, after <see cref="Retargeted"/>.</summary>
    private readonly struct Sm90aLoader : Accelerator.IKernelLoader
    {
        public int GroupSize => 0;

        public Kernel LoadKernel(Accelerator accelerator, CompiledKernel compiledKernel, out ILGPU.Runtime.KernelInfo? kernelInfo)
        {
            var retargeted = Retargeted(compiledKernel);
            kernelInfo = ILGPU.Runtime.KernelInfo.CreateFrom(retargeted.Info, null, null);
            return accelerator.LoadKernel(retargeted);
        }
    }

    [GeneratedRegex(@"^\.target sm_\d+", RegexOptions.Multiline)] private static partial Regex TargetLine();
    [GeneratedRegex(@"^\.version (\d+\.\d+)", RegexOptions.Multiline)] private static partial Regex VersionLine();
}
