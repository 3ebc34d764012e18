namespace Diffuser.Schedulers;

/// <summary>What the model predicts (diffusers' prediction_type).</summary>
public enum PredictionType
{
    /// <summary>The noise ε ("epsilon").</summary>
    Epsilon,
    /// <summary>v = α·ε − σ·x₀ ("v_prediction", Salimans &amp; Ho 2022).</summary>
    VPrediction,
    /// <summary>The clean sample x₀ ("sample").</summary>
    Sample,
}

/// <summary>
/// The model output → denoised sample (x₀) maps. Scalars are formed in fp32 as diffusers forms them from its fp32
/// tensors; the combination itself is exact (double) and the kernel applies it in one pass.
/// </summary>
internal static class Parametrisation
{
    public static PredictionType Parse(string? value) => value switch
    {
        null or "epsilon" => PredictionType.Epsilon,
        "v_prediction" => PredictionType.VPrediction,
        "sample" or "original_sample" => PredictionType.Sample,
        _ => throw new DiffuserException($"Scheduler config: prediction_type \"{value}\" is not one of epsilon, v_prediction, sample."),
    };

    /// <summary>
    /// x₀ in the variance-exploding (k-diffusion) form, x = x₀ + σ·ε: ε → x − σ·m; v → m·(−σ/√(σ²+1)) + x/(σ²+1);
    /// sample → m.
    /// </summary>
    public static TensorCombination DenoisedFromSigma(PredictionType prediction, float sigma, TensorCombination x, TensorCombination m) => prediction switch
    {
        PredictionType.Epsilon => x - sigma * m,
        PredictionType.VPrediction => m * (-sigma / MathF.Sqrt(sigma * sigma + 1)) + x / (sigma * sigma + 1),
        _ => m,
    };

    /// <summary>x₀ in the variance-preserving form, x = α·x₀ + σ·ε: ε → (x − σ·m)/α; v → α·x − σ·m; sample → m.</summary>
    public static TensorCombination DenoisedFromAlphaSigma(PredictionType prediction, float alpha, float sigma, TensorCombination x, TensorCombination m) => prediction switch
    {
        PredictionType.Epsilon => (x - sigma * m) / alpha,
        PredictionType.VPrediction => alpha * x - sigma * m,
        _ => m,
    };

    /// <summary>ε in the variance-preserving form: ε → m; v → α·m + σ·x; sample → (x − α·m)/σ.</summary>
    public static TensorCombination NoiseFromAlphaSigma(PredictionType prediction, float alpha, float sigma, TensorCombination x, TensorCombination m) => prediction switch
    {
        PredictionType.Epsilon => m,
        PredictionType.VPrediction => alpha * m + sigma * x,
        _ => (x - alpha * m) / sigma,
    };
}
