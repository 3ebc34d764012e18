using System.Reflection;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// <see cref="KernelCache"/>'s files and keys: a tensor-core GEMM's PTX (as ILGPU writes it for an H200) kept and read
/// back as the compiled kernel ILGPU's CUDA accelerator loads, what makes two kernels' keys differ, and the files it
/// does not trust. Its launchers on ILGPU's CPU accelerator are <see cref="KernelLoadingTests"/>; the CUDA load of a
/// kept kernel only the GPU run can show (bench/gpu/run.sh, stage kernel-cache).
/// </summary>
public sealed class KernelCacheTests(PtxCompiler compiler) : IDisposable
{
    private readonly KernelCache _cache = new(Path.Combine(Path.GetTempPath(), $"diffuser-kernel-cache-{Guid.NewGuid():N}"));

    public void Dispose()
    {
        if (Directory.Exists(_cache.Folder)) Directory.Delete(_cache.Folder, recursive: true);
    }

    [Fact]
    public void AKeptKernelIsReadBackAsTheKernelIlgpuCompiled()
    {
        var compiled = compiler.CompileKernel(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemm));
        _cache.Save("gemm", compiled);
        Assert.Equal([_cache.PathOf("gemm")], Directory.GetFiles(_cache.Folder));   // written whole: no temporary file left

        var (shared, ptx) = _cache.Read("gemm") ?? throw new Xunit.Sdk.XunitException("the kept kernel was not read back");
        Assert.Equal(compiled.PTXAssembly, ptx);
        Assert.Equal(compiled.EntryPoint().SharedMemory, shared);
        Assert.True(shared.HasDynamicMemory, "the GEMM's stages are in dynamic shared memory");

        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(compiled.SourceMethod);
        var loaded = KernelCache.FromPtx(compiled.Context, entry, shared, ptx);
        Assert.Equal(compiled.Name, loaded.Name);   // the function the driver looks up in the module
        Assert.Equal(compiled.SourceMethod, loaded.SourceMethod);
        Assert.Equal(compiled.NumParameters, loaded.NumParameters);
        Assert.Equal(compiled.Specialization, loaded.Specialization);
        Assert.Equal(compiled.EntryPoint().Parameters.ParameterTypes, loaded.EntryPoint().Parameters.ParameterTypes);   // what the launcher marshals
        Assert.Equal(compiled.EntryPoint().SharedMemory, loaded.EntryPoint().SharedMemory);
    }

    [Fact]
    public void FilesOfAnotherKeyOrFormatAreNotRead()
    {
        Assert.Null(_cache.Read("never kept"));
        _cache.Save("a", compiler.CompileKernel(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemm)));
        File.Copy(_cache.PathOf("a"), _cache.PathOf("b"));   // as if two keys had one hash
        var longAgo = DateTime.UtcNow.AddHours(-5);
        File.SetLastWriteTimeUtc(_cache.PathOf("b"), longAgo);
        Assert.Null(_cache.Read("b"));
        Assert.Equal(longAgo, File.GetLastWriteTimeUtc(_cache.PathOf("b")));   // not marked used: Prune takes it first
        File.WriteAllText(_cache.PathOf("a"), "not a kept kernel");
        Assert.Null(_cache.Read("a"));
        _cache.Remove("a");
        Assert.False(File.Exists(_cache.PathOf("a")));
    }

    [Fact]
    public void PruningKeepsTheKernelsUsedLastWithinTheCapacity()
    {
        var gemm = compiler.CompileKernel(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemm));
        _cache.Save("probe", gemm);
        long size = new FileInfo(_cache.PathOf("probe")).Length;
        var cache = new KernelCache(_cache.Folder, capacity: 2 * size + 100);   // two such files (their keys differ in length)
        var now = DateTime.UtcNow;
        string[] keys = ["oldest", "older", "newest"];
        foreach (var (key, hoursAgo) in keys.Zip([3, 2, 1]))
        {
            cache.Save(key, gemm);
            File.SetLastWriteTimeUtc(cache.PathOf(key), now.AddHours(-hoursAgo));
        }
        File.Delete(_cache.PathOf("probe"));
        Assert.NotNull(cache.Read("oldest"));   // read: now the one used last
        string abandoned = cache.PathOf("killed") + ".1.1.tmp", writing = cache.PathOf("writing") + ".2.1.tmp";
        File.WriteAllText(abandoned, "a process killed while writing");
        File.SetLastWriteTimeUtc(abandoned, now.AddHours(-2));
        File.WriteAllText(writing, "a process writing now");

        cache.Prune();

        Assert.Equal(new[] { cache.PathOf("oldest"), cache.PathOf("newest"), writing }.Order(), Directory.GetFiles(cache.Folder).Order());
        Assert.NotNull(cache.Read("oldest"));
        Assert.Null(cache.Read("older"));
    }

    [Fact]
    public void AFolderThatCannotBeWrittenCostsOnlyTheCompilation()
    {
        File.WriteAllText(_cache.Folder, "a file where the folder should be");
        try
        {
            _cache.Save("gemm", compiler.CompileKernel(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemm)));
            Assert.Null(_cache.Read("gemm"));
            _cache.Remove("gemm");
            _cache.Prune();
            Assert.True(File.Exists(_cache.Folder) && !Directory.Exists(_cache.Folder), "the file in the folder's place is left as it was");
        }
        finally
        {
            File.Delete(_cache.Folder);
        }
    }

    [Fact]
    public void KeysDifferByKernelValuesTargetAndSettings()
    {
        using var context = Context.Create(builder => builder.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        var add = typeof(Sm90aTestKernel).GetMethod(nameof(Sm90aTestKernel.AddConstant))!;
        var gemm = typeof(SpecializedKernels).GetMethod(nameof(SpecializedKernels.TensorCoreGemm))!;
        string Key(MethodInfo kernel, int value, bool forSm90a = false) => KernelCache.KeyOf(accelerator, kernel, forSm90a, [SpecializedValue.New(value)]);

        Assert.Equal(Key(add, 10), Key(add, 10));
        string[] keys = [Key(add, 10), Key(add, 100), Key(add, 10, forSm90a: true), Key(gemm, 10)];
        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(keys.Length, keys.Select(_cache.PathOf).Distinct().Count());
        Assert.Contains("values Int32 100", keys[1], StringComparison.Ordinal);
        Assert.Contains($"ILGPU {typeof(Accelerator).Assembly.GetName().Version}", keys[0], StringComparison.Ordinal);
        Assert.Contains(typeof(Sm90aTestKernel).Module.ModuleVersionId.ToString(), keys[0], StringComparison.Ordinal);   // a rebuilt kernel assembly misses
        using var debugContext = Context.Create(builder => builder.CPU().Optimize(OptimizationLevel.Debug));
        using var debugAccelerator = debugContext.CreateCPUAccelerator(0);
        Assert.NotEqual(keys[0], KernelCache.KeyOf(debugAccelerator, add, false, [SpecializedValue.New(10)]));
    }
}
