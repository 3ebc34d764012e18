using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Sampler;

/// <summary>
/// The fused sampler step on the host: one pass over the latents that applies classifier-free guidance and writes
/// each output row of <see cref="SamplerCoefficients"/>. The reference for <see cref="SamplerKernels.Step"/>.
/// </summary>
public static class SamplerManaged
{
    /// <param name="model">Model output: <c>shape.Elements</c> values, or 2·Elements ([uncond, cond]) when guided; empty without a model.</param>
    /// <param name="sample">The current sample (Elements values).</param>
    /// <param name="history">The first <c>shape.HistoryCount</c> entries are read.</param>
    /// <param name="noise">Standard normal noise, empty unless <c>shape.HasNoise</c>.</param>
    /// <param name="outputs">The first <c>shape.OutputCount</c> entries are written.</param>
    public static void Step(ReadOnlyMemory<float> model, ReadOnlyMemory<float> sample, ReadOnlyMemory<float>[] history,
        ReadOnlyMemory<float> noise, Memory<float>[] outputs, SamplerStepShape shape, SamplerCoefficients c) =>
        ElementwiseManaged.ForChunks(shape.Elements, (start, count) =>
        {
            var x = sample.Span.Slice(start, count);
            var m = shape.HasModel != 0 ? model.Span : default;
            var h0 = Input(history, 0, shape.HistoryCount, start, count);
            var h1 = Input(history, 1, shape.HistoryCount, start, count);
            var h2 = Input(history, 2, shape.HistoryCount, start, count);
            var z = shape.HasNoise != 0 ? noise.Span.Slice(start, count) : default;
            for (int k = 0; k < shape.OutputCount; k++)
            {
                var row = c.Row(k);
                var y = outputs[k].Span.Slice(start, count);
                for (int i = 0; i < count; i++)
                {
                    float g = shape.HasModel == 0 ? 0f
                        : shape.Guided != 0 ? c.Guide(m[start + i], m[shape.Elements + start + i]) : m[start + i];
                    y[i] = row.Apply(x[i], g, At(h0, i), At(h1, i), At(h2, i), At(z, i));
                }
            }
        });

    private static ReadOnlySpan<float> Input(ReadOnlyMemory<float>[] history, int slot, int count, int start, int length) =>
        slot < count ? history[slot].Span.Slice(start, length) : default;

    private static float At(ReadOnlySpan<float> values, int i) => values.IsEmpty ? 0f : values[i];
}
