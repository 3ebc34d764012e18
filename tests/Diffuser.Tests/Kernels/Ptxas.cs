using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>What NVIDIA's PTX assembler made of a kernel for one architecture, and the machine code it wrote.</summary>
public sealed record PtxasResult(string Architecture, int Registers, int StackFrameBytes, int SpillStoreBytes, int SpillLoadBytes, string Sass, string Report)
{
    public int Count(string instruction) => Regex.Matches(Sass, $@"\b{Regex.Escape(instruction)}\b").Count;
}

/// <summary>
/// NVIDIA's ptxas (and cuobjdump for the machine code) of CUDA 11.8, as <c>.ci/fetch-ptxas</c> puts them in
/// <c>.tools/cuda-11.8</c> (or the folder <c>DIFFUSER_CUDA_TOOLS</c> names): the same assembler the CUDA driver runs
/// on ILGPU's PTX when a kernel is loaded, so a kernel it accepts without spilling here loads and keeps its
/// registers on the GPU. Hopper's architecture-specific sm_90a (wgmma) needs CUDA 12's: 12.4's, in
/// <c>.tools/cuda-12.4</c> (or <c>DIFFUSER_CUDA12_TOOLS</c>).
/// </summary>
public static partial class Ptxas
{
    public const string ToolsVariable = "DIFFUSER_CUDA_TOOLS";

    private static readonly Lazy<string> Tools = new(() => Folder(ToolsVariable, "cuda-11.8"));
    private static readonly Lazy<string> Tools12 = new(() => Folder("DIFFUSER_CUDA12_TOOLS", "cuda-12.4"));

    private static string Folder(string variable, string name)
    {
        string folder = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } set
            ? Path.GetFullPath(set) : Path.Combine(TestPaths.RepoRoot, ".tools", name);
        foreach (var tool in new[] { "ptxas", "cuobjdump", "nvdisasm" })
            if (!File.Exists(Path.Combine(folder, tool)))
                throw new InvalidOperationException($"{tool} is not in {folder}: run .ci/fetch-ptxas once (or set {variable}).");
        return folder;
    }

    /// <summary>Each PTX text assembled once for each architecture (tests check several things of one kernel's machine code).</summary>
    private static readonly ConcurrentDictionary<(string Ptx, string Architecture), Lazy<PtxasResult>> Assembled = new();

    /// <summary>Assembles <paramref name="ptx"/> for <paramref name="architecture"/> (sm_80, sm_90, sm_90a with CUDA 12.4's tools, …) with -v.</summary>
    public static PtxasResult Assemble(string ptx, string architecture) =>
        Assembled.GetOrAdd((ptx, architecture), key => new(() => AssembleUncached(key.Ptx, key.Architecture))).Value;

    private static PtxasResult AssembleUncached(string ptx, string architecture)
    {
        string tools = architecture.EndsWith('a') ? Tools12.Value : Tools.Value;
        string folder = Directory.CreateTempSubdirectory("diffuser-ptxas-").FullName;
        try
        {
            string source = Path.Combine(folder, "kernel.ptx"), cubin = Path.Combine(folder, "kernel.cubin");
            File.WriteAllText(source, tools == Tools.Value ? ForThisAssembler(ptx) : ptx);
            string report = Run(tools, "ptxas", $"-arch={architecture} -v -o {cubin} {source}");
            // The largest figure over the entry and any device function ptxas reports on.
            int Number(Regex pattern) => pattern.Matches(report) is { Count: > 0 } matches ? matches.Max(m => int.Parse(m.Groups[1].Value))
                : throw new InvalidOperationException($"ptxas printed no {pattern}:\n{report}");
            return new(architecture, Number(RegistersLine()), Number(StackFrameLine()), Number(SpillStoresLine()), Number(SpillLoadsLine()),
                Run(tools, "cuobjdump", $"-sass {cubin}"), report);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// ILGPU writes the PTX ISA version of the driver it targets (8.0 for sm_90 here); the 11.8 assembler reads up to
    /// 7.8. The kernels use nothing newer (an instruction that is would fail to assemble), so the header is lowered.
    /// </summary>
    private static string ForThisAssembler(string ptx) => PtxVersionLine().Replace(ptx, m =>
        double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 7.8 ? ".version 7.8" : m.Value, 1);

    private static string Run(string tools, string tool, string arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(tools, tool), arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["NVDISASM_PATH"] = tools },
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string all = output + error.Result;
        return process.ExitCode == 0 ? all : throw new InvalidOperationException($"{tool} {arguments} exited with {process.ExitCode}:\n{all}");
    }

    [GeneratedRegex(@"^\.version (\d+\.\d+)", RegexOptions.Multiline)] private static partial Regex PtxVersionLine();
    [GeneratedRegex(@"Used (\d+) registers")] private static partial Regex RegistersLine();
    [GeneratedRegex(@"(\d+) bytes stack frame")] private static partial Regex StackFrameLine();
    [GeneratedRegex(@"(\d+) bytes spill stores")] private static partial Regex SpillStoresLine();
    [GeneratedRegex(@"(\d+) bytes spill loads")] private static partial Regex SpillLoadsLine();
}
