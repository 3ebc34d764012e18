using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>
/// The names and shapes of a <c>weights-manifest.json</c> (<c>{"tensors": {name: shape}}</c>) without any values:
/// loading a model from it on a <see cref="MetaBackend"/> proves the model consumes exactly the manifest's tensors
/// without allocating a byte of weights.
/// </summary>
public sealed class ManifestWeightSource : IWeightSource
{
    private readonly Dictionary<string, int[]> _shapes = new();

    public ManifestWeightSource(string path)
    {
        Description = path;
        if (!File.Exists(path)) throw new DiffuserException($"Weight manifest not found: {path}");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("tensors", out var tensors) || tensors.ValueKind != JsonValueKind.Object)
                throw new DiffuserException($"{path}: no 'tensors' object of name → shape.");
            foreach (var t in tensors.EnumerateObject())
                _shapes[t.Name] = t.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new DiffuserException($"{path}: not a weights manifest ({e.Message}).", e);
        }
    }

    public string Description { get; }
    public IEnumerable<string> Names => _shapes.Keys;

    public bool TryGetShape(string name, out int[] shape) => _shapes.TryGetValue(name, out shape!);

    /// <summary>A manifest holds shapes only: the destination (a <see cref="MetaBackend"/>'s tensor holds nothing) is left as it is.</summary>
    public void LoadInto(string name, Tensor destination) { }

    /// <summary>As <see cref="LoadInto"/>: nothing to write.</summary>
    public void LoadPartInto(string name, long offset, Tensor destination) { }

    public void Dispose() { }
}
