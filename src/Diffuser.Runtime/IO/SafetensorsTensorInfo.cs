namespace Diffuser.IO;

/// <summary>One header entry: name, dtype, shape and byte range [Begin, End) inside the data buffer.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)
{
    /// <summary>The product of the shape (1 for a scalar shape []).</summary>
    public long ElementCount { get; } = Shape.Aggregate(1L, (a, d) => a * d);
    public long ByteLength => End - Begin;
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
