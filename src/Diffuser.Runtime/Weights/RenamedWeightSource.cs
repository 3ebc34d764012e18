using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>
/// The tensors of another source whose names start with a prefix, under new names (one component of a single-file
/// checkpoint, in diffusers' names). Some tensors may be stored in another shape of as many elements, e.g. a
/// linear layer's [C, C] weight as a 1×1 convolution's [C, C, 1, 1]: <c>reshape</c> gives the shape the model asks for.
/// It does not own the source it renames.
/// </summary>
public sealed class RenamedWeightSource : IWeightSource
{
    private readonly IWeightSource _source;
    private readonly Dictionary<string, string> _sourceNames = new(StringComparer.Ordinal);
    private readonly Func<string, int[], int[]> _reshape;

    /// <param name="rename">A source name, without the prefix, to its new name.</param>
    /// <param name="reshape">The new name and the stored shape to the shape the tensor is loaded as (the same number of elements).</param>
    public RenamedWeightSource(IWeightSource source, string prefix, Func<string, string> rename, Func<string, int[], int[]>? reshape = null)
    {
        _source = source;
        _reshape = reshape ?? ((_, shape) => shape);
        Description = $"{source.Description} ({prefix}*)";
        foreach (var name in source.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var renamed = rename(name[prefix.Length..]);
            if (!_sourceNames.TryAdd(renamed, name))
                throw new DiffuserException($"{source.Description}: '{_sourceNames[renamed]}' and '{name}' both stand for '{renamed}'.");
        }
    }

    public string Description { get; }
    public IEnumerable<string> Names => _sourceNames.Keys;

    public bool TryGetShape(string name, out int[] shape)
    {
        if (_sourceNames.TryGetValue(name, out var sourceName) && _source.TryGetShape(sourceName, out var stored))
        {
            shape = _reshape(name, stored);
            return true;
        }
        shape = [];
        return false;
    }

    public void LoadInto(string name, Tensor destination) => _source.LoadInto(_sourceNames[name], destination);

    /// <summary>The renamed source stays open: its owner closes it.</summary>
    public void Dispose() { }
}
