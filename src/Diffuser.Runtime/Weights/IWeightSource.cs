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

    /// <summary>
    /// Writes tensor <paramref name="name"/> into <paramref name="destination"/>, a tensor of as many elements in the
    /// dtype the model stores it as (converted on the way). The destination may be a slice of a larger tensor: the
    /// parts of a fused projection load straight into their rows, with no device copy.
    /// </summary>
    void LoadInto(string name, Tensor destination);

    /// <summary>
    /// Writes elements [<paramref name="offset"/>, <paramref name="offset"/> + its length) of tensor
    /// <paramref name="name"/> into <paramref name="destination"/>, converted as <see cref="LoadInto"/> does: one block
    /// of rows of a tensor that the model takes as several (a fused q|k|v projection).
    /// </summary>
    void LoadPartInto(string name, long offset, Tensor destination);
}

/// <summary>One tensor of any <see cref="IWeightSource"/>, on its own (models load theirs through a <see cref="WeightLoader"/>).</summary>
public static class WeightSourceLoading
{
    /// <summary>Tensor <paramref name="name"/> uploaded into a new tensor stored as <paramref name="dtype"/>.</summary>
    public static Tensor Load(this IWeightSource source, string name, Backend backend, DType dtype)
    {
        if (!source.TryGetShape(name, out var shape)) throw new DiffuserException($"{source.Description} has no tensor '{name}'.");
        return backend.Allocate(new TensorShape(shape), dtype, t => source.LoadInto(name, t));
    }
}
