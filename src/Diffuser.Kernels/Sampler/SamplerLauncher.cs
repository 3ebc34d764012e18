using Diffuser.Kernels.Random;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Sampler;

/// <summary>Loads the fused sampler-step and Philox noise kernels once for an accelerator.</summary>
public sealed class SamplerLauncher
{
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SamplerStepShape, SamplerCoefficients> _step;
    private readonly Action<AcceleratorStream, Index1D, ArrayView<float>, ulong, ulong> _normal;
    private readonly Accelerator _accelerator;

    public SamplerLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _step = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SamplerStepShape, SamplerCoefficients>(SamplerKernels.Step);
        _normal = accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ulong, ulong>(RandomKernels.Normal);
    }

    /// <summary>One pass over the latents; absent history, noise, model output or extra outputs are empty views.</summary>
    public void Step(ArrayView<float> model, ArrayView<float> sample, ReadOnlySpan<ArrayView<float>> history, ArrayView<float> noise,
        ReadOnlySpan<ArrayView<float>> outputs, SamplerStepShape shape, SamplerCoefficients coefficients)
    {
        _step(_accelerator.DefaultStream, shape.Elements, model, sample, At(history, 0), At(history, 1), At(history, 2), noise,
            At(outputs, 0), At(outputs, 1), At(outputs, 2), shape, coefficients);
    }

    private static ArrayView<float> At(ReadOnlySpan<ArrayView<float>> views, int k) => k < views.Length ? views[k] : ArrayView<float>.Empty;

    public void Normal(ArrayView<float> output, ulong seed, ulong draw) =>
        _normal(_accelerator.DefaultStream, (int)output.Length, output, seed, draw);
}
