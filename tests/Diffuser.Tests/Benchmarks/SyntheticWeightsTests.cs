using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Benchmarks;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Benchmarks;

/// <summary>Random weights shaped as a manifest: deterministic, bounded like PyTorch's default init, never NaN.</summary>
public class SyntheticWeightsTests
{
    private static ManifestWeightSource Manifest(string component) =>
        new(Path.Combine(TestPaths.Model("sd15"), component, "weights-manifest.json"));

    [Fact]
    public void ValuesAreSeededAndBoundedByFanIn()
    {
        using var backend = new CpuBackend();
        using var source = new SyntheticWeightSource(Manifest("vae"), seed: 7);
        using var again = new SyntheticWeightSource(Manifest("vae"), seed: 7);
        using var other = new SyntheticWeightSource(Manifest("vae"), seed: 8);
        const string conv = "decoder.up_blocks.0.resnets.0.conv1.weight";   // [512, 512, 3, 3]
        Assert.True(source.TryGetShape(conv, out var shape));
        Assert.Equal([512, 512, 3, 3], shape);
        using var w = source.Load(conv, backend, DType.F32);
        using var w2 = again.Load(conv, backend, DType.F32);
        using var w3 = other.Load(conv, backend, DType.F32);
        var values = w.ToArray();
        Assert.Equal(values, w2.ToArray());
        Assert.NotEqual(values, w3.ToArray());
        float bound = 1f / MathF.Sqrt(512 * 9);
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        Assert.InRange(values.Average(), -bound / 50, bound / 50);
        Assert.InRange(values.Max(), 0.99f * bound, bound);

        using var gain = source.Load("decoder.conv_norm_out.weight", backend, DType.F32);
        Assert.All(gain.ToArray(), v => Assert.InRange(v, 0.9f, 1.1f));
        Assert.Equal(4L * (512 * 512 * 9 + 128), source.BytesLoaded);
    }

    [Fact]
    public void WithoutFillTensorsAreOnlyAllocated()
    {
        using var meta = new MetaBackend();
        using var source = new SyntheticWeightSource(Manifest("unet"), fill: false);
        using var t = source.Load("conv_in.weight", meta, DType.F32);
        Assert.Equal(new TensorShape(320, 4, 3, 3), t.Shape);
        Assert.Throws<DiffuserException>(() => source.Load("no.such.tensor", meta, DType.F32));
    }
}
