using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Backends.Ilgpu;
using Diffuser.Models.Unet;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Convolution filters packed for the tensor-core convolution (<see cref="TensorLayout.TapMajorFilter"/>), on the
/// backend with emulated tensor cores: the layout itself, packed and per-call-packed filters giving the same bits,
/// which backends pack, models loading their filters packed, and the errors a packed tensor gives elsewhere. The
/// convolution's values against the reference are <see cref="TensorCoreEmulationTests"/>' conv2d cases (packed as a model load packs).
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class PackedFilterTests(EmulatedBackends backends) : IClassFixture<EmulatedBackends>
{
    private Backend TensorCores => backends.Get(TensorCoreMode.Emulated);

    [Theory]
    [InlineData(5, 3, 3)]    // channels padded 3 → 8
    [InlineData(4, 16, 1)]   // a 1×1 filter: the same order
    [InlineData(3, 12, 3)]   // padded 12 → 16
    public void PacksChannelsInnermostPaddedWithZeros(int filters, int channels, int size)
    {
        using var weight = Random(TensorCores, 7, [filters, channels, size, size]);
        using var packed = TensorCores.PackConv2dFilter(weight);
        int padded = (channels + 7) / 8 * 8;
        Assert.Equal(TensorLayout.TapMajorFilter, packed.Layout);
        Assert.Equal(new TensorShape(filters, size, size, padded), packed.Shape);
        var dense = weight.ToArray();
        var expected = new float[filters * size * size * padded];
        for (int f = 0; f < filters; f++)
            for (int tap = 0; tap < size * size; tap++)
                for (int c = 0; c < channels; c++)
                    expected[(f * size * size + tap) * padded + c] = dense[(f * channels + c) * size * size + tap];
        Assert.Equal(expected, packed.ToArray());
    }

    [Fact]
    public void DenseFiltersPackedPerCallGiveTheSameBits()
    {
        using var x = Random(TensorCores, 1, [2, 12, 5, 6]);
        using var weight = Random(TensorCores, 2, [7, 12, 3, 3]);
        using var bias = Random(TensorCores, 3, [7]);
        using var packed = TensorCores.PackConv2dFilter(weight);
        using var fromDense = TensorCores.Conv2d(x, weight, bias, 1, Padding2d.Same(1));
        using var fromPacked = TensorCores.Conv2d(x, packed, bias, 1, Padding2d.Same(1));
        Assert.Equal(fromDense.ToArray(), fromPacked.ToArray());
    }

    [Fact]
    public void OnlyTheTensorCoreConvolutionPacks()
    {
        using var cpu = new CpuBackend();
        using var cpuWeight = Random(cpu, 1, [4, 8, 3, 3]);
        Assert.Same(cpuWeight, cpu.PackConv2dFilter(cpuWeight));
        using var single = Random(TensorCores, 1, [4, 8, 3, 3], DType.F32);
        Assert.Same(single, TensorCores.PackConv2dFilter(single));              // fp32 runs the portable kernels
        using var wide = Random(TensorCores, 1, [4, 8, 7, 7]);
        Assert.Same(wide, TensorCores.PackConv2dFilter(wide));                  // 49 taps: more than the gather's mask holds
    }

    [Fact]
    public void PackedFiltersAreReadOnlyByConv2d()
    {
        using var weight = Random(TensorCores, 1, [4, 12, 3, 3]);
        using var packed = TensorCores.PackConv2dFilter(weight);
        using var x = Random(TensorCores, 2, [1, 8, 4, 4]);
        var mismatch = Assert.Throws<DiffuserException>(() => TensorCores.Conv2d(x, packed, null, 1, Padding2d.Same(1)));
        Assert.Contains("packed filter", mismatch.Message);
        Assert.Throws<DiffuserException>(() => packed.Reshape(4, -1));
        Assert.Throws<DiffuserException>(() => packed.Slice(0, 1));
        Assert.Throws<DiffuserException>(() => TensorCores.PackConv2dFilter(packed));
    }

    [Fact]
    public void ModelsLoadTheirConvolutionFiltersPacked()
    {
        using var tensorCores = BackendFactory.CreateIlgpu("ilgpu-cpu", TensorCoreMode.Emulated);   // a pool of its own, counted below
        using var dense = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd2"), new CpuBackend(), dtype: DType.F16);
        using var unet = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd2"), tensorCores, dtype: DType.F16);
        var packed = unet.Weights.Tensors.Where(t => t.Layout == TensorLayout.TapMajorFilter).ToList();
        int convolutions = dense.Weights.Tensors.Count(t => t.Rank == 4);
        Assert.Equal(convolutions, packed.Count);          // tiny-sd2's projections are Linear, so every 4-D weight is a conv filter
        Assert.All(packed, t => Assert.Equal(0, t.Shape[3] % 8));
        Assert.Equal(dense.ParameterCount, unet.ParameterCount);   // counted as in the checkpoint, before padding
        Assert.Equal(dense.Weights.Tensors.Count, unet.Weights.Tensors.Count);
        // The dense copies are freed once packed, not kept by the pool (a size nothing asks for again): the backend
        // holds the weights and nothing else.
        Assert.Equal(0, tensorCores.Pool.BytesFree);
        Assert.Equal(unet.Weights.SizeInBytes, tensorCores.Pool.BytesAllocated);
    }

    private static Tensor Random(Backend backend, int seed, int[] shape, DType dtype = DType.F16)
    {
        var random = new Random(seed);
        var values = new float[new TensorShape(shape).ElementCount];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return backend.FromHost(values, new TensorShape(shape), dtype);
    }
}
