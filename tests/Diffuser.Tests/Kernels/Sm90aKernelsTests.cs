using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// <see cref="Sm90aKernels"/>, which retargets wgmma kernels past ILGPU's sm_80 target, loaded by
/// <see cref="KernelLoading.Load{TDelegate}"/>: the PTX rewrite, the compiled kernel rebuilt through ILGPU's internal constructor (fails here, not on a GPU, should an ILGPU update move it), and
/// its specialising launcher, which ILGPU's CPU accelerator runs (the CUDA load itself only the GPU run can show).
/// </summary>
public sealed class Sm90aKernelsTests(PtxCompiler compiler)
{
    [Fact]
    public void IlgpusPtxIsRetargetedToSm90a()
    {
        string ptx = compiler.Compile(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemmWarpGroup));
        Assert.Contains(".target sm_80\n", ptx.ReplaceLineEndings("\n"), StringComparison.Ordinal);   // what ILGPU 1.5.3 writes for an H200
        string retargeted = Sm90aKernels.ForSm90a(ptx);
        Assert.Contains(".target sm_90a", retargeted, StringComparison.Ordinal);
        Assert.DoesNotContain(".target sm_80", retargeted, StringComparison.Ordinal);
        Assert.Equal(ptx.Length + 1, retargeted.Length);   // nothing else changed (ISA 8.0 already)
        Assert.Contains(".version 8.0", Sm90aKernels.ForSm90a(ptx.Replace(".version 8.0", ".version 7.8", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void ACompiledKernelIsRebuiltWithTheNewTarget()
    {
        var compiled = compiler.CompileKernel(typeof(SpecializedKernels), nameof(SpecializedKernels.TensorCoreGemmWarpGroup));
        var retargeted = Assert.IsType<PTXCompiledKernel>(Sm90aKernels.Retargeted(compiled));
        Assert.Equal(Sm90aKernels.ForSm90a(compiled.PTXAssembly), retargeted.PTXAssembly);
        Assert.Equal(compiled.Name, retargeted.Name);
        Assert.Equal(compiled.NumParameters, retargeted.NumParameters);
    }

    private delegate void AddConstantKernel(AcceleratorStream stream, KernelConfig config, ArrayView<int> data, SpecializedValue<int> constant);

    [Fact]
    public void ItsLauncherSpecialisesEachValueOnTheCpuAccelerator()
    {
        using var context = Context.Create(builder => builder.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        var kernel = KernelLoading.Load<AddConstantKernel>(accelerator, typeof(Sm90aTestKernel).GetMethod(nameof(Sm90aTestKernel.AddConstant))!, forSm90a: true);
        using var data = accelerator.Allocate1D(new[] { 1, 2, 3, 4 });
        kernel(accelerator.DefaultStream, new KernelConfig(1, 4), data.View, SpecializedValue.New(10));
        kernel(accelerator.DefaultStream, new KernelConfig(1, 4), data.View, SpecializedValue.New(100));
        accelerator.Synchronize();
        Assert.Equal([111, 112, 113, 114], data.GetAsArray1D());
    }
}

/// <summary>A kernel with a specialised parameter for <see cref="Sm90aKernelsTests"/>.</summary>
public static class Sm90aTestKernel
{
    /// <summary>Adds its specialised constant to each element (explicitly grouped, one group).</summary>
    public static void AddConstant(ArrayView<int> data, SpecializedValue<int> constant)
    {
        int i = Group.IdxX;
        if (i < data.Length) data[i] += constant;
    }
}
