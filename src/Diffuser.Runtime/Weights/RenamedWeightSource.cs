using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>
/// The tensors of another source whose names start with a prefix, under new names (one component of a single-file
/// checkpoint, in diffusers' names). A source tensor may also stand for several of the model's, as equal blocks of its
/// rows (a fused q|k|v projection), or for none (a tensor the model does not use); and a tensor may be stored in another
/// shape of as many elements, e.g. a linear layer's [C, C] weight as a 1×1 convolution's [C, C, 1, 1]. It does not own
/// the source it renames.
/// </summary>
public sealed class RenamedWeightSource : IWeightSource
{
    private readonly IWeightSource _source;
    private readonly Dictionary<string, Part> _parts = new(StringComparer.Ordinal);
    private readonly Func<string, int[], int[]> _reshape;

    /// <summary>Block <see cref="Index"/> of <see cref="Count"/> equal blocks of rows of source tensor <see cref="Source"/>.</summary>
    private readonly record struct Part(string Source, int Index, int Count);

    /// <param name="rename">
    /// A source name, without the prefix, to its new names: one for the whole tensor, several for equal blocks of its
    /// rows in order, none for a tensor the model does not use.
    /// </param>
    /// <param name="reshape">The new name and the stored shape to the shape the tensor is loaded as (the same number of elements).</param>
    public RenamedWeightSource(IWeightSource source, string prefix, Func<string, IReadOnlyList<string>> rename,
        Func<string, int[], int[]>? reshape = null)
    {
        _source = source;
        _reshape = reshape ?? ((_, shape) => shape);
        Description = $"{source.Description} ({prefix}*)";
        foreach (var name in source.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var renamed = rename(name[prefix.Length..]);
            for (int i = 0; i < renamed.Count; i++)
                if (!_parts.TryAdd(renamed[i], new Part(name, i, renamed.Count)))
                    throw new DiffuserException($"{source.Description}: '{_parts[renamed[i]].Source}' and '{name}' both stand for '{renamed[i]}'.");
        }
    }

    public string Description { get; }
    public IEnumerable<string> Names => _parts.Keys;

    public bool TryGetShape(string name, out int[] shape)
    {
        shape = [];
        if (!_parts.TryGetValue(name, out var part) || !_source.TryGetShape(part.Source, out var stored)) return false;
        if (part.Count > 1)
        {
            if (stored.Length == 0 || stored[0] % part.Count != 0)
                throw new DiffuserException($"{_source.Description}: '{part.Source}' {new TensorShape(stored)} does not split into {part.Count} equal blocks of rows.");
            stored = [stored[0] / part.Count, .. stored[1..]];
        }
        shape = _reshape(name, stored);
        return true;
    }

    public void LoadInto(string name, Tensor destination)
    {
        var part = _parts[name];
        if (part.Count == 1) _source.LoadInto(part.Source, destination);
        else LoadPartInto(name, 0, destination);
    }

    public void LoadPartInto(string name, long offset, Tensor destination)
    {
        var part = _parts[name];
        _source.LoadPartInto(part.Source, part.Index * ElementCount(name) + offset, destination);
    }

    private long ElementCount(string name) => TryGetShape(name, out var shape) ? shape.Aggregate(1L, (a, d) => a * d) : 0;

    /// <summary>The renamed source stays open: its owner closes it.</summary>
    public void Dispose() { }
}
