using Diffuser.Kernels.Sampler;

namespace Diffuser.Schedulers;

/// <summary>
/// A linear combination of the tensors a fused sampler step reads: the sample x, the guided model output m, up to
/// three history tensors and the step noise z, with double coefficients. Schedulers write their update with these
/// as diffusers writes it with tensors (<c>x0 = (x − σ·m)/α</c>); the composed coefficients become one
/// <see cref="SamplerRow"/> of the fused step.
/// </summary>
internal readonly struct TensorCombination
{
    private readonly double _sample, _model, _history0, _history1, _history2, _noise;

    private TensorCombination(double sample, double model, double history0, double history1, double history2, double noise)
    {
        _sample = sample;
        _model = model;
        _history0 = history0;
        _history1 = history1;
        _history2 = history2;
        _noise = noise;
    }

    public static TensorCombination Zero => default;
    public static TensorCombination Sample => new(1, 0, 0, 0, 0, 0);
    public static TensorCombination Model => new(0, 1, 0, 0, 0, 0);
    public static TensorCombination Noise => new(0, 0, 0, 0, 0, 1);

    /// <summary>History slot 0, 1 or 2.</summary>
    public static TensorCombination History(int slot) => slot switch
    {
        0 => new(0, 0, 1, 0, 0, 0),
        1 => new(0, 0, 0, 1, 0, 0),
        2 => new(0, 0, 0, 0, 1, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot, $"A sampler step has at most {SamplerCoefficients.MaxHistory} history tensors."),
    };

    public bool UsesNoise => _noise != 0;

    public static TensorCombination operator +(TensorCombination a, TensorCombination b) =>
        new(a._sample + b._sample, a._model + b._model, a._history0 + b._history0, a._history1 + b._history1, a._history2 + b._history2, a._noise + b._noise);

    public static TensorCombination operator -(TensorCombination a, TensorCombination b) => a + -1.0 * b;
    public static TensorCombination operator -(TensorCombination a) => -1.0 * a;

    public static TensorCombination operator *(double k, TensorCombination a) =>
        new(k * a._sample, k * a._model, k * a._history0, k * a._history1, k * a._history2, k * a._noise);

    public static TensorCombination operator *(TensorCombination a, double k) => k * a;
    public static TensorCombination operator /(TensorCombination a, double k) => (1 / k) * a;

    /// <summary>The coefficients rounded to fp32 for the kernel.</summary>
    public SamplerRow ToRow() =>
        new((float)_sample, (float)_model, (float)_history0, (float)_history1, (float)_history2, (float)_noise);
}
