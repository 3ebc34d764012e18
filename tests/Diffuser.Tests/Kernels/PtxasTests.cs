using ILGPU.Runtime.Cuda;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Every kernel's PTX (as ILGPU writes it for an H100/H200) assembled by NVIDIA's ptxas for the Ampere (sm_80) and
/// Hopper (sm_90) tensor-core GPUs: the assembler accepts it, no kernel spills or keeps a stack frame, two groups of
/// each kernel fit a multiprocessor's 64 K registers, and every <c>mma.sync</c> of the PTX is a tensor-core HMMA in
/// the machine code, fed by <c>ldmatrix</c> (LDSM).
/// </summary>
public sealed class PtxasTests(PtxCompiler compiler, ITestOutputHelper output) : IClassFixture<PtxCompiler>
{
    private const int RegistersPerMultiprocessor = 64 * 1024;

    public static TheoryData<string> Kernels() => new(GpuKernelCatalog.All.Keys.Order());

    [Theory, MemberData(nameof(Kernels))]
    public async Task AssemblesWithoutSpillsAndTwoGroupsPerMultiprocessor(string name)
    {
        var kernel = GpuKernelCatalog.All[name];
        string ptx = compiler.Compile(kernel.DeclaringType!, kernel.Name, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, kernel.GetGenericArguments());
        int mma = ptx.Split('\n').Count(line => line.Contains("mma.sync.aligned.m16n8k16", StringComparison.Ordinal));
        var results = await Task.WhenAll(new[] { "sm_80", "sm_90" }.Select(architecture => Task.Run(() => Ptxas.Assemble(ptx, architecture))));
        foreach (var result in results)
        {
            string architecture = result.Architecture;
            output.WriteLine($"{name} {architecture}: {result.Registers} registers, {result.Count("HMMA.16816.F32")} HMMA, {result.Count("LDSM.16.M88.4") + result.Count("LDSM.16.MT88.4")} LDSM");
            Assert.Equal(0, result.StackFrameBytes);
            Assert.Equal(0, result.SpillStoreBytes + result.SpillLoadBytes);
            if (GpuKernelCatalog.GroupSize(kernel) is int group)
                Assert.True(2 * group * result.Registers <= RegistersPerMultiprocessor, $"{result.Registers} registers × {group} threads: fewer than two groups per multiprocessor");
            Assert.Equal(mma, result.Count("HMMA.16816.F32"));
            if (mma > 0) Assert.True(result.Count("LDSM.16.M88.4") > 0, "tensor-core operands come from ldmatrix");
        }
    }

    [Fact]
    public void CatalogHoldsTheKernelsTheLaunchersLoad()
    {
        var names = GpuKernelCatalog.All.Keys.ToHashSet();
        foreach (string kernel in new[]
                 {
                     "GemmKernels.Gemm<F16View>", "GemmKernels.Gemm<F32View>", "Conv2dKernels.Conv2d<F16View>", "NormKernels.GroupNormApply<F16View>",
                     "TensorCoreKernels.Gemm<PtxWarpMma>", "TensorCoreKernels.Conv2d<PtxWarpMma>", "FlashAttentionKernels.Attention<PtxWarpAttention160>",
                     "SamplerKernels.Step", "RandomKernels.Normal", "ConvertKernels.ToHalf",
                 })
            Assert.Contains(kernel, names);
        Assert.DoesNotContain(names, n => n.Contains("Emulated", StringComparison.Ordinal));
    }
}
