using Diffuser.Tensors;

namespace Diffuser.Models.Blocks;

/// <summary>
/// Carries one activation through a sequence of ops, freeing each intermediate as soon as the next one exists, so a
/// forward pass holds only what it still needs. The input stays the caller's; <see cref="Detach"/> hands the result over.
/// </summary>
internal sealed class TensorChain(Tensor input) : IDisposable
{
    private Tensor? _owned;

    public Tensor Current { get; private set; } = input;

    /// <summary>Makes <paramref name="next"/> the current tensor and frees the previous intermediate.</summary>
    public void Advance(Tensor next)
    {
        _owned?.Dispose();
        Current = _owned = next;
    }

    /// <summary>The result, now owned by the caller.</summary>
    public Tensor Detach()
    {
        var result = _owned ?? throw new InvalidOperationException("No op has run yet: the current tensor is still the caller's input.");
        _owned = null;
        return result;
    }

    public void Dispose() => _owned?.Dispose();
}
