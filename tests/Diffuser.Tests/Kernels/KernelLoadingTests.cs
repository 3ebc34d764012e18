using Diffuser.Backends.Ilgpu;
using Diffuser.Diagnostics;
using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// <see cref="KernelLoading"/>'s launchers through a <see cref="KernelCache"/> on ILGPU's CPU accelerator: a kernel
/// without specialised parameters (compiled when loaded) and one whose SpecializedValue arguments each make a kernel
/// (compiled when first launched) run as ILGPU's own launchers do. The CPU accelerator's kernels are .NET code, so
/// nothing is kept. And whole ops on the emulated tensor cores through a cache against the same without one.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class KernelLoadingTests(KernelLoadingTests.Device device, EmulatedBackends backends)
    : IClassFixture<KernelLoadingTests.Device>, IClassFixture<EmulatedBackends>
{
    private delegate void AddConstantKernel(AcceleratorStream stream, KernelConfig config, ArrayView<int> data, SpecializedValue<int> constant);

    [Fact]
    public void AStreamKernelRunsThroughTheCache()
    {
        var accelerator = device.Accelerator;
        var launcher = new ElementwiseLauncher<F32View>(accelerator);
        float[] a = [.. Enumerable.Range(0, 300).Select(i => i * 0.5f)], b = [.. Enumerable.Range(0, 300).Select(i => 1f - i)];
        using var x = accelerator.Allocate1D(a);
        using var y = accelerator.Allocate1D(b);
        using var sum = accelerator.Allocate1D<float>(a.Length);
        launcher.Binary(new F32View(x.View), new F32View(y.View), new F32View(sum.View), a.Length, BinaryOp.Multiply);
        accelerator.Synchronize();
        Assert.Equal(a.Zip(b, (p, q) => p * q), sum.GetAsArray1D());
        Assert.False(Directory.Exists(device.Cache.Folder));
    }

    [Fact]
    public void EachSpecialisedValueRunsItsOwnKernel()
    {
        var accelerator = device.Accelerator;
        var kernel = KernelLoading.Load<AddConstantKernel>(accelerator, typeof(Sm90aTestKernel).GetMethod(nameof(Sm90aTestKernel.AddConstant))!);
        using var data = accelerator.Allocate1D(new[] { 1, 2, 3, 4 });
        foreach (int constant in new[] { 10, 100, 10 }) kernel(accelerator.DefaultStream, new KernelConfig(1, 4), data.View, SpecializedValue.New(constant));
        accelerator.Synchronize();
        Assert.Equal([121, 122, 123, 124], data.GetAsArray1D());
        Assert.False(Directory.Exists(device.Cache.Folder));
    }

    /// <summary>
    /// Ops whose kernels load through a kernel cache (DIFFUSER_KERNEL_CACHE) give the very results of those ILGPU loads
    /// directly: the tensor-core GEMM and convolution (launchers with the stream first), the attention and the norm
    /// before a convolution (on the default stream), each a kernel per set of SpecializedValue arguments.
    /// </summary>
    [Theory, InlineData("gemm/b2_9x20x300_residual_splitK_f16"), InlineData("geglu_linear/17x300_to_40_splitK_f16"),
     InlineData("conv2d/3x4_c32k20_k3s1p1_residual_splitK_f16"), InlineData("attention/cross_b2h2_l19_s77_d40_f16"),
     InlineData("group_norm_conv2d/1x160x4x6_g16_k24_splitK_f16")]
    public void OpsThroughTheCacheGiveTheSameResults(string id)
    {
        var c = OpCases.SmallHalf.Single(x => x.Id == id);
        var cached = backends.Get(TensorCoreMode.Emulated, new KernelOptions(KernelCache: device.Cache.Folder));
        Assert.Equal(c.RunOnce(backends.Get(TensorCoreMode.Emulated), 1234).Values, c.RunOnce(cached, 1234).Values);
        Assert.False(Directory.Exists(device.Cache.Folder));
    }

    /// <summary>One multiprocessor's CPU accelerator with a kernel cache (a folder that stays empty) attached.</summary>
    public sealed class Device : CpuAcceleratorFixture
    {
        public Device() : base(multiprocessors: 1) => KernelCache.Attach(Accelerator, Cache);

        public KernelCache Cache { get; } = new(Path.Combine(Path.GetTempPath(), $"diffuser-kernel-cache-{Guid.NewGuid():N}"));
    }
}
