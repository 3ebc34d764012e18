using Diffuser.IO;
using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>The tensors of one or more safetensors files (a sharded checkpoint is several), by name.</summary>
public sealed class SafetensorsWeightSource : IWeightSource
{
    private readonly List<SafetensorsFile> _files = new();
    private readonly Dictionary<string, SafetensorsFile> _owner = new();

    public SafetensorsWeightSource(params string[] paths)
    {
        try
        {
            foreach (var path in paths)
            {
                var file = SafetensorsFile.Open(path);
                _files.Add(file);
                foreach (var t in file.Tensors)
                    if (!_owner.TryAdd(t.Name, file))
                        throw new DiffuserException($"Tensor '{t.Name}' is in both {_owner[t.Name].Path} and {path}.");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Description = string.Join(", ", paths);
    }

    public string Description { get; }
    public IEnumerable<string> Names => _owner.Keys;

    public bool TryGetShape(string name, out int[] shape)
    {
        if (_owner.TryGetValue(name, out var file))
        {
            shape = file.GetInfo(name).Shape;
            return true;
        }
        shape = [];
        return false;
    }

    public void LoadInto(string name, Tensor destination) => _owner[name].LoadInto(name, destination);

    public void LoadPartInto(string name, long offset, Tensor destination) => _owner[name].LoadPartInto(name, offset, destination);

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
