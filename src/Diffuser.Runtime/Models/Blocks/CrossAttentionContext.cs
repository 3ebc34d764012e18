using Diffuser.Tensors;

namespace Diffuser.Models.Blocks;

/// <summary>
/// The text that a model's cross-attention layers attend to, for as long as it stays the same (every step of one
/// generation): each layer's k|v projection of it is computed at the layer's first use and kept, so later evaluations
/// skip those GEMMs (16 a step in SD 1.x and 2.x). The projections are exactly what each evaluation would compute.
/// Made by the model (<c>UNet2DConditionModel.PrepareContext</c>); dispose it before the backend.
/// </summary>
public sealed class CrossAttentionContext : IDisposable
{
    private readonly Dictionary<object, Tensor> _keyValues = new(ReferenceEqualityComparer.Instance);
    private readonly Tensor? _owned;
    private bool _disposed;

    /// <param name="states">(B, S, context width) text embeddings, already in the model's dtype.</param>
    /// <param name="owned">Whether disposing this context disposes <paramref name="states"/> too (a converted copy).</param>
    internal CrossAttentionContext(Tensor states, bool owned = false)
    {
        States = states;
        _owned = owned ? states : null;
    }

    /// <summary>(B, S, context width).</summary>
    public Tensor States { get; }

    /// <summary>The k|v projection of <see cref="States"/> that <paramref name="layer"/> made (<see cref="Keep"/>), or null before its first use.</summary>
    internal Tensor? Find(object layer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _keyValues.GetValueOrDefault(layer);
    }

    /// <summary>Keeps <paramref name="layer"/>'s k|v projection of <see cref="States"/>, owned by this context from now on; returns it.</summary>
    internal Tensor Keep(object layer, Tensor keyValues)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _keyValues.Add(layer, keyValues);
        return keyValues;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var keyValues in _keyValues.Values) keyValues.Dispose();
        _keyValues.Clear();
        _owned?.Dispose();
    }
}
