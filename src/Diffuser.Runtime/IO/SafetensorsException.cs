namespace Diffuser.IO;

/// <summary>What is wrong with a safetensors file; each class of corruption has its own value.</summary>
public enum SafetensorsError
{
    /// <summary>The path does not name an existing file.</summary>
    FileNotFound,
    /// <summary>The file exists but cannot be opened or mapped (permissions, I/O error).</summary>
    FileUnreadable,
    /// <summary>Fewer than the 8 bytes of the header-length prefix.</summary>
    FileTooSmall,
    /// <summary>The header-length prefix points past the end of the file.</summary>
    HeaderLengthOutOfRange,
    /// <summary>The header-length prefix is over the 100 MB limit of the reference implementation.</summary>
    HeaderTooLarge,
    /// <summary>The header bytes are not UTF-8, or a string escape is not valid Unicode.</summary>
    HeaderNotUtf8,
    /// <summary>The header is not one well-formed JSON value.</summary>
    HeaderNotJson,
    /// <summary>The header's JSON nests deeper than any safetensors header needs.</summary>
    HeaderTooDeep,
    /// <summary>The header's JSON is not an object.</summary>
    HeaderNotObject,
    /// <summary><c>__metadata__</c> is not an object of strings, or appears twice.</summary>
    InvalidMetadata,
    /// <summary>A tensor entry is not an object, lacks dtype / shape / data_offsets, or repeats one.</summary>
    InvalidTensorEntry,
    /// <summary>Two entries share a tensor name.</summary>
    DuplicateTensor,
    /// <summary>The dtype is not one safetensors defines.</summary>
    UnknownDType,
    /// <summary>The shape is not an array of non-negative 32-bit integers, or its size overflows.</summary>
    InvalidShape,
    /// <summary>data_offsets is not [begin, end] of non-negative integers with begin ≤ end.</summary>
    InvalidOffsets,
    /// <summary>data_offsets reach past the end of the data buffer.</summary>
    OffsetOutOfRange,
    /// <summary>elements × dtype size differs from the byte length data_offsets span.</summary>
    SizeMismatch,
    /// <summary>Two tensors share bytes.</summary>
    OverlappingTensors,
    /// <summary>Bytes of the data buffer that belong to no tensor (a hole or a tail).</summary>
    UncoveredBytes,
    /// <summary>A tensor name that the file does not contain.</summary>
    TensorNotFound,
    /// <summary>The tensor's dtype cannot be read as the type asked for.</summary>
    UnsupportedConversion,
    /// <summary>A tensor with more elements than one .NET span or array can hold.</summary>
    TensorTooLarge,
}

/// <summary>A safetensors file that cannot be read, naming the file and, where there is one, the tensor.</summary>
public sealed class SafetensorsException : DiffuserException
{
    public SafetensorsException(SafetensorsError error, string path, string? tensor, string detail)
        : base(Format(path, tensor, detail))
    {
        Error = error;
        FilePath = path;
        TensorName = tensor;
    }

    public SafetensorsException(SafetensorsError error, string path, string? tensor, string detail, Exception inner)
        : base(Format(path, tensor, detail), inner)
    {
        Error = error;
        FilePath = path;
        TensorName = tensor;
    }

    private static string Format(string path, string? tensor, string detail) =>
        $"{path}: {(tensor is null ? "" : $"tensor '{tensor}': ")}{detail}";

    /// <summary>The class of problem.</summary>
    public SafetensorsError Error { get; }
    /// <summary>The file (or, for an in-memory buffer, the name it was given).</summary>
    public string FilePath { get; }
    /// <summary>The tensor the problem is in, where there is one.</summary>
    public string? TensorName { get; }
}
