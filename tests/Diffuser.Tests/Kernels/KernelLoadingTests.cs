using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// <see cref="KernelLoading"/>'s launchers through a <see cref="KernelCache"/> on ILGPU's CPU accelerator: a kernel
/// without specialised parameters (compiled when loaded) and one whose SpecializedValue arguments each make a kernel
/// (compiled when first launched) run as ILGPU's own launchers do. The CPU accelerator's kernels are .NET code, so
/// nothing is kept; whole ops through the cache are in <see cref="TensorCoreEmulationTests"/>.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class KernelLoadingTests(KernelLoadingTests.Device device) : IClassFixture<KernelLoadingTests.Device>
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

    /// <summary>One multiprocessor's CPU accelerator with a kernel cache (a folder that stays empty) attached.</summary>
    public sealed class Device : CpuAcceleratorFixture
    {
        public Device() : base(multiprocessors: 1) => KernelCache.Attach(Accelerator, Cache);

        public KernelCache Cache { get; } = new(Path.Combine(Path.GetTempPath(), $"diffuser-kernel-cache-{Guid.NewGuid():N}"));
    }
}
