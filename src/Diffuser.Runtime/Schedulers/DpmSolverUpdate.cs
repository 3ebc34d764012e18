namespace Diffuser.Schedulers;

/// <summary>
/// The DPM-Solver update shared by the multistep and single-step schedulers (Lu et al. 2022, DPM-Solver and
/// DPM-Solver++): from a base point s with sample xₛ to t, with h = λₜ − λₛ, first order
/// <c>xₜ = (σₜ/σₛ)·xₛ − αₜ(e^{−h} − 1)·D₀</c> (data prediction) or <c>xₜ = (αₜ/αₛ)·xₛ − σₜ(e^{h} − 1)·D₀</c>
/// (noise prediction), plus a D₁ term for second order ("midpoint" or "heun" solver type).
/// </summary>
internal sealed class DpmSolverUpdate
{
    private DpmSolverUpdate(bool dataPrediction, bool midpoint)
    {
        DataPrediction = dataPrediction;
        Midpoint = midpoint;
    }

    /// <summary>True for algorithm_type dpmsolver++ (the model output is turned into x₀), false for dpmsolver (into ε).</summary>
    public bool DataPrediction { get; }

    /// <summary>solver_type midpoint (else heun).</summary>
    public bool Midpoint { get; }

    /// <summary>The algorithm and solver type of a DPM-Solver config, resolved as diffusers' constructors do.</summary>
    public static DpmSolverUpdate From(SchedulerConfig config, string className)
    {
        bool dataPrediction = config.AlgorithmType switch
        {
            "dpmsolver++" or "deis" => true,  // diffusers maps deis to dpmsolver++
            "dpmsolver" => false,
            "sde-dpmsolver++" or "sde-dpmsolver" => throw new DiffuserException($"{className}: algorithm_type \"{config.AlgorithmType}\" is not supported by this engine."),
            var other => throw new DiffuserException($"{className}: algorithm_type \"{other}\" is not one of dpmsolver++, dpmsolver."),
        };
        bool midpoint = config.SolverType switch
        {
            "midpoint" or "logrho" or "bh1" or "bh2" => true,  // diffusers maps the other solvers' types to midpoint
            "heun" => false,
            var other => throw new DiffuserException($"{className}: solver_type \"{other}\" is not one of midpoint, heun."),
        };
        if (!dataPrediction && config.FinalSigmasType == "zero")
            throw new DiffuserException($"{className}: final_sigmas_type \"zero\" needs algorithm_type dpmsolver++; use \"sigma_min\" with dpmsolver.");
        if (config.VarianceType is not null) throw new DiffuserException($"{className}: variance_type \"{config.VarianceType}\" is not supported by this engine.");
        return new DpmSolverUpdate(dataPrediction, midpoint);
    }

    /// <summary>What the solver works on: x₀ (dpmsolver++) or ε (dpmsolver) from the model output.</summary>
    public TensorCombination Convert(PredictionType prediction, AlphaSigma at, TensorCombination x, TensorCombination m) => DataPrediction
        ? Parametrisation.DenoisedFromAlphaSigma(prediction, at.Alpha, at.Sigma, x, m)
        : Parametrisation.NoiseFromAlphaSigma(prediction, at.Alpha, at.Sigma, x, m);

    /// <summary>The update from <paramref name="s"/> to <paramref name="t"/> (<paramref name="d1"/> null for first order).</summary>
    public TensorCombination Apply(AlphaSigma t, AlphaSigma s, TensorCombination sample, TensorCombination d0, TensorCombination? d1)
    {
        float h = t.Lambda - s.Lambda;
        if (DataPrediction)
        {
            float phi = MathF.Exp(-h) - 1f;
            var result = t.Sigma / s.Sigma * sample - t.Alpha * phi * d0;
            if (d1 is not { } second) return result;
            return Midpoint ? result - 0.5 * (t.Alpha * phi) * second : result + t.Alpha * (phi / h + 1f) * second;
        }
        else
        {
            float phi = MathF.Exp(h) - 1f;
            var result = t.Alpha / s.Alpha * sample - t.Sigma * phi * d0;
            if (d1 is not { } second) return result;
            return Midpoint ? result - 0.5 * (t.Sigma * phi) * second : result - t.Sigma * (phi / h - 1f) * second;
        }
    }
}
