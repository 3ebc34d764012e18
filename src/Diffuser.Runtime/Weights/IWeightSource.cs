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
}
