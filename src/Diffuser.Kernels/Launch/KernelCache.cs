using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// A folder of the PTX that ILGPU wrote for each kernel, so that a later process loads it instead of compiling it
/// again (ILGPU keeps compiled kernels in memory only: a process's first generation spends about 0.3 s on each of
/// its ~70 kernels). A file holds one kernel as one specialisation made it, named by the hash of everything its code
/// depends on (<see cref="KeyOf"/>): the kernel method and its type arguments (their assemblies' module ids, so
/// that any change to the kernels' code misses), the SpecializedValue arguments, the target architecture and ISA,
/// the ILGPU version and the context's compilation settings. Only CUDA accelerators read and write it (the CPU
/// accelerator's kernels are .NET code); a file that cannot be read, or whose PTX the driver refuses, is compiled
/// again and rewritten. Files are written whole (to a temporary name, then moved), so processes can share a folder.
/// Every build of the kernels' assembly adds a new set of files: <see cref="Prune"/> keeps the folder to its
/// capacity, the files read or written last kept first.
/// </summary>
/// <param name="folder">The folder (made when the first kernel is kept).</param>
/// <param name="capacity">The bytes of kernels <see cref="Prune"/> leaves in the folder.</param>
public sealed class KernelCache(string folder, long capacity = KernelCache.DefaultCapacity)
{
    /// <summary>256 MiB: about a dozen builds' kernels (a first fp16 generation compiles ≈70, each tens of KiB of PTX).</summary>
    public const long DefaultCapacity = 256L << 20;

    private const string Header = "diffuser-kernel-cache 1";

    /// <summary>How old a temporary file must be before <see cref="Prune"/> takes it for one a killed process left.</summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    private static readonly ConditionalWeakTable<Accelerator, KernelCache> Attached = new();

    public string Folder { get; } = Path.GetFullPath(folder);

    public long Capacity { get; } = capacity;

    /// <summary>Makes the kernels that <see cref="KernelLoading"/> loads for <paramref name="accelerator"/> go through this cache.</summary>
    public static void Attach(Accelerator accelerator, KernelCache cache) => Attached.AddOrUpdate(accelerator, cache);

    /// <summary>The cache attached to <paramref name="accelerator"/>, if any.</summary>
    public static KernelCache? Of(Accelerator accelerator) => Attached.TryGetValue(accelerator, out var cache) ? cache : null;

    /// <summary>
    /// What the code of <paramref name="kernel"/> specialised with <paramref name="specializedValues"/> depends on, as
    /// text (the file name is its hash; the file repeats it, so that a collision reads as a miss).
    /// </summary>
    public static string KeyOf(Accelerator accelerator, MethodInfo kernel, bool forSm90a, IEnumerable<object> specializedValues)
    {
        var types = kernel.GetGenericArguments().Concat(kernel.DeclaringType!.GetGenericArguments()).ToArray();
        var modules = types.Select(t => t.Module).Prepend(kernel.Module).Distinct().Select(m => $"{m.Name}:{m.ModuleVersionId}");
        var properties = accelerator.Context.Properties;
        string target = accelerator is CudaAccelerator cuda ? $"{cuda.Architecture} {cuda.InstructionSet}" : accelerator.AcceleratorType.ToString();
        return string.Join(" | ",
            $"{kernel.DeclaringType.FullName}.{kernel.Name}<{string.Join(", ", types.Select(t => t.FullName))}>",
            string.Join(", ", modules),
            "values " + string.Join(", ", specializedValues.Select(SpecializedText)),
            $"target {target}{(forSm90a ? " sm_90a" : "")}",
            $"ILGPU {typeof(Accelerator).Assembly.GetName().Version}",
            $"{properties.OptimizationLevel} {properties.DebugSymbolsMode} {properties.InliningMode} {properties.MathMode} {properties.StaticFieldMode} " +
            $"{properties.ArrayMode} assertions {properties.EnableAssertions} io {properties.EnableIOOperations}");
    }

    /// <summary>The file of <paramref name="key"/>.</summary>
    public string PathOf(string key) =>
        Path.Combine(Folder, System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + ".ptx");

    /// <summary>The kernel of <paramref name="key"/> compiled earlier, for <paramref name="accelerator"/> if it is a CUDA one; else null.</summary>
    public CompiledKernel? TryLoad(Accelerator accelerator, in EntryPointDescription entry, string key) =>
        accelerator is CudaAccelerator && Read(key) is { } kept ? FromPtx(accelerator.Context, entry, kept.Shared, kept.Ptx) : null;

    /// <summary>The shared memory and PTX kept for <paramref name="key"/>; null if there is no such file, or it is not one <see cref="Save"/> wrote for that key.</summary>
    public (SharedMemorySpecification Shared, string Ptx)? Read(string key)
    {
        string path = PathOf(key);
        string text = "";
        if (!TryIo(() => text = File.ReadAllText(path))) return null;
        var lines = text.Split('\n', 4);
        if (lines.Length < 4 || lines[0] != Header || lines[1] != key) return null;
        var shared = lines[2].Split(' ');
        if (shared.Length != 3 || shared[0] != "shared" || !int.TryParse(shared[1], NumberStyles.None, CultureInfo.InvariantCulture, out int size)) return null;
        TryIo(() => File.SetLastWriteTimeUtc(path, DateTime.UtcNow));   // in use: the last file Prune takes (a read-only folder keeps its dates)
        return (new SharedMemorySpecification(size, shared[2] == "1"), lines[3]);
    }

    /// <summary>
    /// Keeps <paramref name="compiled"/> as the kernel of <paramref name="key"/>, if it is PTX (unless the folder cannot be written).
    /// </summary>
    public void Save(string key, CompiledKernel compiled)
    {
        if (compiled is not PTXCompiledKernel ptx) return;
        var shared = compiled.EntryPoint().SharedMemory;
        string text = $"{Header}\n{key}\nshared {shared.StaticSize} {(shared.HasDynamicMemory ? 1 : 0)}\n{ptx.PTXAssembly}";
        string path = PathOf(key);
        string temporary = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        bool saved = TryIo(() =>
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllText(temporary, text);
            File.Move(temporary, path, overwrite: true);
        });
        if (!saved) Forget(temporary);
    }

    /// <summary>
    /// Deletes the kernels used least recently (by the time they were last read or written) until the rest fit the
    /// capacity, and temporary files older than an hour (a process killed while writing leaves one).
    /// </summary>
    public void Prune()
    {
        FileInfo[] files = [];
        if (!TryIo(() => files = Directory.Exists(Folder) ? new DirectoryInfo(Folder).GetFiles() : [])) return;
        long kept = 0;
        foreach (var file in files.Where(f => f.Extension == ".ptx").OrderByDescending(f => f.LastWriteTimeUtc))
        {
            kept += file.Length;
            if (kept > Capacity) Forget(file.FullName);
        }
        foreach (var file in files.Where(f => f.Extension == ".tmp" && DateTime.UtcNow - f.LastWriteTimeUtc > AbandonedAfter))
            Forget(file.FullName);
    }

    /// <summary>Forgets the kernel of <paramref name="key"/> (one the driver refused).</summary>
    public void Remove(string key) => Forget(PathOf(key));

    /// <summary>Deletes <paramref name="path"/> if it can (else the next process reads it as a miss, or has the driver refuse it again).</summary>
    private static void Forget(string path) => TryIo(() => File.Delete(path));

    /// <summary>
    /// Runs a file operation; false if the file system refused it. A folder that cannot be read or written costs
    /// compile time only: the kernel at hand loads either way.
    /// </summary>
    private static bool TryIo(Action operation)
    {
        try
        {
            operation();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A PTX kernel of <paramref name="entry"/> as ILGPU's backend makes it (its entry point from the description, its shared memory and no group-size specialisation).</summary>
    public static CompiledKernel FromPtx(ILGPU.Context context, in EntryPointDescription entry, SharedMemorySpecification shared, string ptx) =>
        IlgpuInternals.NewPtxKernel(context, new EntryPoint(entry, shared, KernelSpecialization.Empty), null, ptx);

    /// <summary>A SpecializedValue&lt;T&gt; argument as its type and value.</summary>
    private static string SpecializedText(object value)
    {
        object inner = value.GetType().GetProperty("Value")!.GetValue(value)!;
        return $"{inner.GetType().Name} {System.Convert.ToString(inner, CultureInfo.InvariantCulture)}";
    }
}
