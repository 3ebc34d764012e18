namespace Diffuser.IO;

/// <summary>What is wrong with a safetensors file; each class of corruption has its own value.</summary>
public enum SafetensorsError
{
    FileNotFound,
    FileTooSmall,
    HeaderLengthOutOfRange,
    HeaderNotUtf8,
    HeaderNotJson,
    HeaderNotObject,
    InvalidMetadata,
    InvalidTensorEntry,
    DuplicateTensor,
    UnknownDType,
    InvalidShape,
    SizeMismatch,
    OffsetOutOfRange,
    OverlappingTensors,
    UncoveredBytes,
    TensorNotFound,
    UnsupportedConversion,
}

/// <summary>A safetensors file that cannot be read, naming the file and, where there is one, the tensor.</summary>
public sealed class SafetensorsException : DiffuserException
{
    public SafetensorsException(SafetensorsError error, string path, string? tensor, string detail)
        : base($"{path}: {(tensor is null ? "" : $"tensor '{tensor}': ")}{detail}")
    {
        Error = error;
        FilePath = path;
        TensorName = tensor;
    }

    public SafetensorsError Error { get; }
    public string FilePath { get; }
    public string? TensorName { get; }
}
