using Diffuser.Kernels.Random;
using Diffuser.Kernels.Sampler;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace Diffuser.Tests.Schedulers;

/// <summary>
/// The sampler-step and noise kernels on ILGPU's CPU accelerator against their managed implementations, bit for bit
/// (small shapes: the CPU accelerator costs microseconds per thread).
/// </summary>
public class KernelTests : IDisposable
{
    private readonly Context _context = Context.Create(builder => builder.CPU());
    private readonly Accelerator _accelerator;

    public KernelTests() => _accelerator = _context.CreateCPUAccelerator(0);

    [Fact]
    public void NormalNoiseKernelMatchesManaged()
    {
        var kernel = _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ulong, ulong>(RandomKernels.Normal);
        const int n = 203;
        using var buffer = _accelerator.Allocate1D<float>(n);
        kernel(n, buffer.View, 0xDEADBEEF12345678UL, 5UL);
        _accelerator.Synchronize();
        var expected = new float[n];
        RandomManaged.Normal(expected, 0xDEADBEEF12345678UL, 5UL);
        Assert.Equal(expected, buffer.GetAsArray1D());
    }

    public static TheoryData<bool, bool, int, bool, int> StepCases() => new()
    {
        { true, true, 3, true, 3 },    // guided, three history tensors, noise, three outputs
        { true, false, 1, false, 2 },  // unguided model output, one history tensor
        { true, true, 0, false, 1 },   // guided first-order step
        { false, false, 0, true, 1 },  // add_noise: sample and noise only
    };

    [Theory, MemberData(nameof(StepCases))]
    public void SamplerStepKernelMatchesManaged(bool hasModel, bool guided, int historyCount, bool hasNoise, int outputCount)
    {
        const int elements = 2 * 4 * 5 * 3;
        var random = new System.Random(historyCount * 10 + outputCount);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 8 - 4))];
        SamplerRow Row() => new(Coefficient(random, true), Coefficient(random, hasModel), Coefficient(random, historyCount > 0),
            Coefficient(random, historyCount > 1), Coefficient(random, historyCount > 2), Coefficient(random, hasNoise));
        var coefficients = new SamplerCoefficients(7.5f, Row(), Row(), Row());
        var shape = new SamplerStepShape(elements, hasModel, guided, historyCount, hasNoise, outputCount);
        var model = hasModel ? Values(guided ? 2 * elements : elements) : [];
        var sample = Values(elements);
        var history = Enumerable.Range(0, historyCount).Select(_ => Values(elements)).ToArray();
        var noise = hasNoise ? Values(elements) : [];

        var expected = Enumerable.Range(0, outputCount).Select(_ => new float[elements]).ToArray();
        SamplerManaged.Step(model, sample, [.. history.Select(h => (ReadOnlyMemory<float>)h)], noise,
            [.. expected.Select(e => (Memory<float>)e)], shape, coefficients);

        var kernel = _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            SamplerStepShape, SamplerCoefficients>(SamplerKernels.Step);
        var inputs = new List<MemoryBuffer1D<float, Stride1D.Dense>>();
        ArrayView<float> Upload(float[] values)
        {
            if (values.Length == 0) return ArrayView<float>.Empty;
            var buffer = _accelerator.Allocate1D(values);
            inputs.Add(buffer);
            return buffer.View;
        }
        try
        {
            var outputs = Enumerable.Range(0, outputCount).Select(_ => _accelerator.Allocate1D<float>(elements)).ToArray();
            inputs.AddRange(outputs);
            ArrayView<float> Output(int k) => k < outputCount ? outputs[k].View : ArrayView<float>.Empty;
            ArrayView<float> History(int k) => k < historyCount ? Upload(history[k]) : ArrayView<float>.Empty;
            kernel(elements, Upload(model), Upload(sample), History(0), History(1), History(2), Upload(noise),
                Output(0), Output(1), Output(2), shape, coefficients);
            _accelerator.Synchronize();
            for (int k = 0; k < outputCount; k++) Assert.Equal(expected[k], outputs[k].GetAsArray1D());
        }
        finally
        {
            foreach (var buffer in inputs) buffer.Dispose();
        }
    }

    private static float Coefficient(System.Random random, bool present) => present ? (float)(random.NextDouble() * 2 - 1) : 0f;

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
        GC.SuppressFinalize(this);
    }
}
