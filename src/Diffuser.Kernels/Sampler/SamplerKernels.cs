using ILGPU;

namespace Diffuser.Kernels.Sampler;

/// <summary>
/// ILGPU kernel of the fused sampler step: one thread per latent element (<c>shape.Elements</c> threads).
/// Absent inputs and outputs may be passed as <see cref="ArrayView{T}.Empty"/>: the kernel touches only what
/// <c>shape</c> says is there. Same arithmetic as <see cref="SamplerManaged.Step"/>.
/// </summary>
public static class SamplerKernels
{
    public static void Step(Index1D index, ArrayView<float> model, ArrayView<float> sample,
        ArrayView<float> history0, ArrayView<float> history1, ArrayView<float> history2, ArrayView<float> noise,
        ArrayView<float> output0, ArrayView<float> output1, ArrayView<float> output2,
        SamplerStepShape shape, SamplerCoefficients c)
    {
        int i = index;
        float x = sample[i];
        float g = shape.HasModel == 0 ? 0f : shape.Guided != 0 ? c.Guide(model[i], model[shape.Elements + i]) : model[i];
        float h0 = shape.HistoryCount > 0 ? history0[i] : 0f;
        float h1 = shape.HistoryCount > 1 ? history1[i] : 0f;
        float h2 = shape.HistoryCount > 2 ? history2[i] : 0f;
        float z = shape.HasNoise != 0 ? noise[i] : 0f;
        output0[i] = c.Output0.Apply(x, g, h0, h1, h2, z);
        if (shape.OutputCount > 1) output1[i] = c.Output1.Apply(x, g, h0, h1, h2, z);
        if (shape.OutputCount > 2) output2[i] = c.Output2.Apply(x, g, h0, h1, h2, z);
    }
}
