using System.Collections.Immutable;

namespace Diffuser.Tensors;

/// <summary>An immutable tensor shape (row-major, outermost dimension first).</summary>
public sealed class TensorShape : IEquatable<TensorShape>
{
    private readonly ImmutableArray<int> _dims;

    public TensorShape(params int[] dims) : this((ReadOnlySpan<int>)dims) { }

    public TensorShape(ReadOnlySpan<int> dims)
    {
        long count = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new DiffuserException($"Negative dimension in shape [{string.Join(", ", dims.ToArray())}].");
            count *= d;
        }
        _dims = [.. dims];
        ElementCount = count;
    }

    public int Rank => _dims.Length;
    public long ElementCount { get; }
    public int this[int axis] => _dims[axis < 0 ? _dims.Length + axis : axis];
    public ReadOnlySpan<int> Dims => _dims.AsSpan();

    /// <summary>Product of the dimensions in [start, end).</summary>
    public long Product(int start, int end)
    {
        long p = 1;
        for (int i = start; i < end; i++) p *= _dims[i];
        return p;
    }

    public TensorShape WithDim(int axis, int value)
    {
        var dims = _dims.ToArray();
        dims[axis < 0 ? dims.Length + axis : axis] = value;
        return new TensorShape(dims);
    }

    public bool Equals(TensorShape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims.AsSpan());
    public override bool Equals(object? obj) => obj is TensorShape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    public override string ToString() => $"[{string.Join(", ", _dims)}]";

    public static implicit operator TensorShape(int[] dims) => new(dims);
}
