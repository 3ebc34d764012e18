using Diffuser.Backends;
using Diffuser.Kernels.Sampler;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// What one scheduler step asks the fused sampler op for: the history tensors it reads, the next sample and the
/// tensors it keeps for later steps (each with where to keep it).
/// </summary>
internal sealed class StepPlan
{
    private readonly List<Tensor> _history = [];
    private readonly List<(TensorCombination Value, Action<Tensor>? Keep)> _outputs = [];
    private readonly List<Action> _then = [];

    /// <summary>Reads <paramref name="tensor"/> in this step (once, however often asked); returns the term that stands for it.</summary>
    public TensorCombination Read(Tensor tensor)
    {
        int slot = _history.IndexOf(tensor);
        if (slot < 0)
        {
            _history.Add(tensor);
            slot = _history.Count - 1;
        }
        return TensorCombination.History(slot);
    }

    /// <summary>The next sample (output 0). Call once, before any <see cref="Keep"/>.</summary>
    public void Next(TensorCombination next)
    {
        if (_outputs.Count != 0) throw new InvalidOperationException("The next sample is output 0 and is set once.");
        _outputs.Add((next, null));
    }

    /// <summary>An extra output handed to <paramref name="keep"/> after the step (the scheduler's history).</summary>
    public void Keep(TensorCombination value, Action<Tensor> keep)
    {
        if (_outputs.Count == 0) throw new InvalidOperationException("Set the next sample before the kept outputs.");
        _outputs.Add((value, keep));
    }

    /// <summary>A state update to make once the step has run (never while its inputs are still needed).</summary>
    public void Then(Action update) => _then.Add(update);

    public bool UsesNoise => _outputs.Any(o => o.Value.UsesNoise);

    /// <summary>Runs the fused step and hands the kept outputs over; returns the next sample.</summary>
    public Tensor Run(Backend backend, Tensor sample, Tensor? modelOutput, Tensor? noise, float guidanceScale)
    {
        if (_outputs.Count == 0) throw new InvalidOperationException("The scheduler planned no next sample.");
        SamplerRow Row(int k) => k < _outputs.Count ? _outputs[k].Value.ToRow() : default;
        var coefficients = new SamplerCoefficients(guidanceScale, Row(0), Row(1), Row(2));
        var outputs = backend.SamplerStep(sample, modelOutput, _history, noise, coefficients, _outputs.Count);
        for (int k = 1; k < outputs.Length; k++) _outputs[k].Keep!(outputs[k]);
        foreach (var update in _then) update();
        return outputs[0];
    }
}
