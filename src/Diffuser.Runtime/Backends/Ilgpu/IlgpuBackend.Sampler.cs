using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;
using ILGPU;

namespace Diffuser.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    protected override void SamplerStepCore(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise,
        Tensor[] outputs, SamplerStepShape shape, SamplerCoefficients coefficients)
    {
        ArrayView<float>[] historyViews = [.. history.Select(View)];
        ArrayView<float>[] outputViews = [.. outputs.Select(View)];
        _sampler.Value.Step(ViewOrEmpty(modelOutput), View(sample), historyViews, ViewOrEmpty(noise), outputViews, shape, coefficients);
    }

    protected override void NormalNoiseCore(Tensor y, ulong seed, ulong draw) => _sampler.Value.Normal(View(y), seed, draw);
}
