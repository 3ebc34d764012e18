using System.Text.RegularExpressions;
using ILGPU.Backends;
using ILGPU.Backends.PTX;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// Kernels whose PTX holds Hopper's architecture-specific instructions (wgmma, sm_90a). ILGPU 1.5.3 writes
/// <c>.target sm_80</c> at most (its capabilities need nothing newer) and has no "a" targets, and ptxas rejects wgmma
/// anywhere else. So such a kernel is specialised and compiled as ILGPU's own loaders do it (its
/// <c>SpecializedValue</c> arguments decide each compilation), and its PTX's target is rewritten to sm_90a before the
/// driver loads it (<see cref="KernelLoading.Load{TDelegate}"/>). ILGPU gives the text only to an internal constructor
/// of its compiled kernel (<see cref="IlgpuInternals"/>). Other accelerators (ILGPU's CPU one in tests) load the
/// compiled kernel as it is.
/// </summary>
public static partial class Sm90aKernels
{
    /// <summary>The PTX with its target set to sm_90a and its ISA version raised to 8.0 where lower (wgmma's first).</summary>
    public static string ForSm90a(string ptx)
    {
        string targeted = TargetLine().Replace(ptx, ".target sm_90a", 1);
        return VersionLine().Replace(targeted, m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 8.0 ? ".version 8.0" : m.Value, 1);
    }

    /// <summary><paramref name="compiled"/>, as a PTX kernel for sm_90a (anything else unchanged).</summary>
    public static CompiledKernel Retargeted(CompiledKernel compiled) => compiled is PTXCompiledKernel ptx
        ? IlgpuInternals.NewPtxKernel(ptx.Context, ptx.EntryPoint(), ptx.Info, ForSm90a(ptx.PTXAssembly))
        : compiled;

    [GeneratedRegex(@"^\.target sm_\d+", RegexOptions.Multiline)] private static partial Regex TargetLine();
    [GeneratedRegex(@"^\.version (\d+\.\d+)", RegexOptions.Multiline)] private static partial Regex VersionLine();
}
