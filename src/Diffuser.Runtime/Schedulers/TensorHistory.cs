using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>The last few tensors a multistep scheduler keeps (oldest first), owned: pushing past the capacity disposes the oldest.</summary>
internal sealed class TensorHistory(int capacity) : IDisposable
{
    private readonly List<Tensor> _items = [];

    public int Count => _items.Count;

    /// <summary>The newest entry is <c>[^1]</c>.</summary>
    public Tensor this[Index index] => _items[index];

    public IReadOnlyList<Tensor> OldestFirst => _items;

    public IEnumerable<Tensor> NewestFirst => Enumerable.Reverse(_items);

    public void Push(Tensor tensor)
    {
        _items.Add(tensor);
        if (_items.Count <= capacity) return;
        _items[0].Dispose();
        _items.RemoveAt(0);
    }

    public void Dispose()
    {
        foreach (var t in _items) t.Dispose();
        _items.Clear();
    }
}
