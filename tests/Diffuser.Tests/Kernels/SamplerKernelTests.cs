using Diffuser.Backends;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The fused sampler step and the Philox noise through <c>IlgpuBackend</c> against the managed backend, bit for bit:
/// the same seed must give the same latents on every device.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class SamplerKernelTests(KernelBackends backends) : IClassFixture<KernelBackends>
{
    [Fact]
    public void NormalNoiseIsBitIdentical()
    {
        var shape = new TensorShape(1, 7, 29);
        using var expected = backends.Cpu.NormalNoise(shape, 0xDEADBEEF12345678UL, 5UL);
        using var actual = backends.Ilgpu.NormalNoise(shape, 0xDEADBEEF12345678UL, 5UL);
        Assert.Equal(expected.ToArray(), actual.ToArray());
    }

    public static TheoryData<bool, bool, int, bool, int> StepCases() => new()
    {
        { true, true, 3, true, 3 },    // guided, three history tensors, noise, three outputs
        { true, false, 1, false, 2 },  // unguided model output, one history tensor
        { true, true, 0, false, 1 },   // guided first-order step
        { false, false, 0, true, 1 },  // add_noise: sample and noise only
    };

    [Theory, MemberData(nameof(StepCases))]
    public void SamplerStepIsBitIdentical(bool hasModel, bool guided, int historyCount, bool hasNoise, int outputCount)
    {
        var shape = new TensorShape(2, 4, 5, 3);
        int elements = (int)shape.ElementCount;
        var random = new Random(historyCount * 10 + outputCount);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 8 - 4))];
        float Coefficient(bool present) => present ? (float)(random.NextDouble() * 2 - 1) : 0f;
        SamplerRow Row() => new(Coefficient(true), Coefficient(hasModel), Coefficient(historyCount > 0),
            Coefficient(historyCount > 1), Coefficient(historyCount > 2), Coefficient(hasNoise));
        var coefficients = new SamplerCoefficients(7.5f, Row(), Row(), Row());
        var sample = Values(elements);
        var model = hasModel ? Values(guided ? 2 * elements : elements) : null;
        var history = Enumerable.Range(0, historyCount).Select(_ => Values(elements)).ToArray();
        var noise = hasNoise ? Values(elements) : null;

        float[][] Run(Backend b)
        {
            using var x = b.FromHost(sample, shape);
            using var m = model is null ? null : b.FromHost(model, shape.WithDim(0, guided ? 4 : 2));
            var h = history.Select(v => b.FromHost(v, shape)).ToArray();
            using var z = noise is null ? null : b.FromHost(noise, shape);
            var outputs = b.SamplerStep(x, m, h, z, coefficients, outputCount);
            try { return [.. outputs.Select(o => o.ToArray())]; }
            finally
            {
                foreach (var t in outputs.Concat(h)) t.Dispose();
            }
        }

        var expected = Run(backends.Cpu);
        var actual = Run(backends.Ilgpu);
        for (int k = 0; k < outputCount; k++) Assert.Equal(expected[k], actual[k]);
    }
}
