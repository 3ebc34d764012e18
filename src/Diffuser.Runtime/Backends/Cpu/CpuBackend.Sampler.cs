using Diffuser.Kernels.Random;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Backends.Cpu;

public sealed partial class CpuBackend
{
    protected override void SamplerStepCore(Tensor sample, Tensor? modelOutput, IReadOnlyList<Tensor> history, Tensor? noise,
        Tensor[] outputs, SamplerStepShape shape, SamplerCoefficients coefficients) =>
        SamplerManaged.Step(DataOrEmpty(modelOutput), Data(sample), [.. history.Select(h => (ReadOnlyMemory<float>)Data(h))],
            DataOrEmpty(noise), [.. outputs.Select(Data)], shape, coefficients);

    protected override void NormalNoiseCore(Tensor y, ulong seed, ulong draw) => RandomManaged.Normal(Data(y), seed, draw);
}
