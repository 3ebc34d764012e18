using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// One fused sampler step, one pass over the latents: classifier-free guidance, the parametrisation and the
    /// scheduler's update, each output a linear combination of the inputs (see <see cref="SamplerRow"/>).
    /// <paramref name="sample"/> is [B, ...]; <paramref name="modelOutput"/> is [B, ...] (used as is) or [2B, ...]
    /// ordered [uncond..., cond...] (guided with <see cref="SamplerCoefficients.GuidanceScale"/>), or null when no
    /// row reads it (add_noise); <paramref name="history"/> holds up to three tensors shaped like the sample;
    /// <paramref name="noise"/> is standard normal noise shaped like the sample, or null. Returns
    /// <paramref name="outputCount"/> new tensors shaped like the sample (dispose them).
    /// </summary>
    public Tensor[] SamplerStep(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise,
        SamplerCoefficients coefficients, int outputCount)
    {
        RequireF32(sample);
        if (sample.Rank == 0 || sample.Length > int.MaxValue) throw Shape("SamplerStep", $"sample must be [B, ...] with at most 2³¹ elements, got {sample.Shape}");
        bool guided = modelOutput is not null && RequireModelOutput(modelOutput, sample);
        if (history.Count > SamplerCoefficients.MaxHistory) throw Shape("SamplerStep", $"{history.Count} history tensors, at most {SamplerCoefficients.MaxHistory}");
        foreach (var h in history) RequireLike("SamplerStep history", h, sample);
        if (noise is not null) RequireLike("SamplerStep noise", noise, sample);
        if (outputCount < 1 || outputCount > SamplerCoefficients.MaxOutputs) throw Shape("SamplerStep", $"{outputCount} outputs, expected 1 to {SamplerCoefficients.MaxOutputs}");
        for (int k = 0; k < outputCount; k++) RequireReadable(coefficients.Row(k), k, modelOutput is not null, history.Count, noise is not null);

        var shape = new SamplerStepShape((int)sample.Length, modelOutput is not null, guided, history.Count, noise is not null, outputCount);
        var outputs = new Tensor[outputCount];
        for (int k = 0; k < outputCount; k++) outputs[k] = Allocate(sample.Shape);
        // Each output is a linear combination of every input tensor: a multiply and an add per input and element.
        int reads = 1 + (modelOutput is null ? 0 : guided ? 2 : 1) + history.Count + (noise is null ? 0 : 1);
        long bytes = (reads + outputCount) * outputs[0].Length * sizeof(float);
        using (Profile("sampler_step", 2L * reads * outputCount * sample.Length, bytes, outputs[0].Shape)) SamplerStepCore(sample, modelOutput, history, noise, outputs, shape, coefficients);
        return outputs;
    }

    /// <summary>
    /// Standard normal noise of <paramref name="shape"/>: element i is <see cref="Kernels.Random.PhiloxNormal.Element"/>(i,
    /// <paramref name="seed"/>, <paramref name="draw"/>), the same bits on every backend.
    /// </summary>
    public Tensor NormalNoise(TensorShape shape, ulong seed, ulong draw)
    {
        if (shape.ElementCount > int.MaxValue) throw Shape("NormalNoise", $"{shape} has more than 2³¹ elements");
        var y = Allocate(shape);
        using (Profile("normal_noise", y.Length, y)) NormalNoiseCore(y, seed, draw);
        return y;
    }

    private bool RequireModelOutput(Tensor modelOutput, Tensor sample)
    {
        RequireF32(modelOutput);
        var inner = sample.Shape.Dims[1..];
        bool sameInner = modelOutput.Rank == sample.Rank && modelOutput.Shape.Dims[1..].SequenceEqual(inner);
        if (sameInner && modelOutput.Shape[0] == sample.Shape[0]) return false;
        if (sameInner && modelOutput.Shape[0] == 2 * sample.Shape[0]) return true;
        throw Shape("SamplerStep", $"model output {modelOutput.Shape} must be the sample's shape {sample.Shape} or twice its batch (classifier-free guidance)");
    }

    private void RequireLike(string what, Tensor t, Tensor sample)
    {
        RequireF32(t);
        if (!t.Shape.Equals(sample.Shape)) throw Shape(what, $"expected the sample's shape {sample.Shape}, got {t.Shape}");
    }

    private static void RequireReadable(SamplerRow row, int output, bool hasModel, int historyCount, bool hasNoise)
    {
        string? missing = !hasModel && row.Model != 0 ? "the model output"
            : !hasNoise && row.Noise != 0 ? "noise"
            : Enumerable.Range(historyCount, SamplerCoefficients.MaxHistory - historyCount).Any(s => row.HistoryCoefficient(s) != 0) ? "a history tensor"
            : null;
        if (missing is not null) throw Shape("SamplerStep", $"output {output} reads {missing} that was not passed");
    }

    protected abstract void SamplerStepCore(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise,
        Tensor[] outputs, SamplerStepShape shape, SamplerCoefficients coefficients);
    protected abstract void NormalNoiseCore(Tensor y, ulong seed, ulong draw);
}
