using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;
using ILGPU;

namespace Diffuser.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void SamplerStepCore(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise,
        Tensor[] outputs, SamplerStepShape shape, SamplerCoefficients coefficients)
    {
        ArrayView<float>[] historyViews = [.. history.Select(Floats)];
        ArrayView<float>[] outputViews = [.. outputs.Select(Floats)];
        _sampler.Value.Step(FloatsOrEmpty(modelOutput), Floats(sample), historyViews, FloatsOrEmpty(noise), outputViews, shape, coefficients);
    }

    protected override void NormalNoiseCore(Tensor y, ulong seed, ulong draw) => _sampler.Value.Normal(Floats(y), seed, draw);
}
