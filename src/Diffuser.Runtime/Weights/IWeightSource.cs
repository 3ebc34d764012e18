using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>Where a model's named tensors come from: safetensors files, or a manifest of shapes only (plan mode).</summary>
public interface IWeightSource : IDisposable
{
    /// <summary>What the source is, for error messages (a file or folder path).</summary>
    string Description { get; }
    IEnumerable<string> Names { get; }
    bool TryGetShape(string name, out int[] shape);
    Tensor Load(string name, Backend backend, DType dtype);

    /// <summary>
    /// Tensors equal in shape but in their first dimension joined along it into one (a fused projection's weight, e.g.
    /// to_q, to_k and to_v as one [3·out, in] matrix). By default each is loaded and the backend joins them.
    /// </summary>
    Tensor LoadConcatenated(IReadOnlyList<string> names, Backend backend, DType dtype)
    {
        var joined = Load(names[0], backend, dtype);
        for (int i = 1; i < names.Count; i++)
        {
            using var part = Load(names[i], backend, dtype);
            using var previous = joined;
            joined = backend.Concat(previous, part, axis: 0);
        }
        return joined;
    }
}
