using Diffuser.Backends;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>Backend.SamplerStep (the fused sampler op) against a plain double-precision host evaluation, and its validation.</summary>
public class SamplerStepOpTests : IDisposable
{
    private static readonly TensorShape Latents = new(2, 4, 6, 5);
    private readonly Backend _backend = TestBackend.Create();
    private readonly System.Random _random = new(11);

    [Theory]
    [InlineData(true, 3, true, 3)]
    [InlineData(false, 2, false, 2)]
    [InlineData(false, 0, true, 1)]
    public void MatchesHostReference(bool guided, int historyCount, bool withNoise, int outputCount)
    {
        int n = (int)Latents.ElementCount;
        var model = Values(guided ? 2 * n : n);
        var sample = Values(n);
        var history = Enumerable.Range(0, historyCount).Select(_ => Values(n)).ToArray();
        var noise = withNoise ? Values(n) : null;
        SamplerRow Row() => new(Coefficient(true), Coefficient(true), Coefficient(historyCount > 0), Coefficient(historyCount > 1),
            Coefficient(historyCount > 2), Coefficient(withNoise));
        var c = new SamplerCoefficients(guided ? 6.5f : 1f, Row(), Row(), Row());

        using var modelT = _backend.FromHost(model, Latents.WithDim(0, guided ? 4 : 2));
        using var sampleT = _backend.FromHost(sample, Latents);
        var historyT = history.Select(h => _backend.FromHost(h, Latents)).ToArray();
        using var noiseT = noise is null ? null : _backend.FromHost(noise, Latents);
        var outputs = _backend.SamplerStep(sampleT, modelT, historyT, noiseT, c, outputCount);
        try
        {
            Assert.Equal(outputCount, outputs.Length);
            for (int k = 0; k < outputCount; k++)
            {
                var row = c.Row(k);
                var expected = new float[n];
                for (int i = 0; i < n; i++)
                {
                    double g = guided ? model[i] + (double)c.GuidanceScale * (model[n + i] - model[i]) : model[i];
                    double y = (double)row.Sample * sample[i] + (double)row.Model * g + (noise is null ? 0 : (double)row.Noise * noise[i]);
                    for (int s = 0; s < historyCount; s++) y += (double)row.HistoryCoefficient(s) * history[s][i];
                    expected[i] = (float)y;
                }
                Assert.Equal(Latents, outputs[k].Shape);
                Tolerance.AssertClose(outputs[k].ToArray(), expected, 1e-5, 1e-5, $"output {k}");
            }
        }
        finally
        {
            foreach (var t in outputs.Concat(historyT)) t.Dispose();
        }
    }

    [Fact]
    public void RejectsBadInputs()
    {
        using var sample = _backend.Allocate(Latents);
        using var other = _backend.Allocate(new TensorShape(3, 4, 6, 5));
        var reads = new SamplerRow(1, 1, 1, 0, 0, 1);
        var c = new SamplerCoefficients(1, reads, default, default);
        var onlySample = new SamplerCoefficients(1, new SamplerRow(1, 0, 0, 0, 0, 0), default, default);
        Assert.Contains("twice its batch", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, other, [], null, onlySample, 1)).Message);
        Assert.Contains("history", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, null, [other], null, onlySample, 1)).Message);
        Assert.Contains("noise", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, null, [], other, onlySample, 1)).Message);
        Assert.Contains("the model output", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, null, [], null, c, 1)).Message);
        Assert.Contains("a history tensor", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, sample, [], sample, c, 1)).Message);
        Assert.Contains("outputs", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, null, [], null, onlySample, 4)).Message);
        Assert.Contains("at most 3", Assert.Throws<DiffuserException>(() => _backend.SamplerStep(sample, null, [sample, sample, sample, sample], null, onlySample, 1)).Message);
    }

    private float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(_random.NextDouble() * 6 - 3))];
    private float Coefficient(bool present) => present ? (float)(_random.NextDouble() * 2 - 1) : 0f;

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
