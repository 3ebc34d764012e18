namespace Diffuser.Tensors;

/// <summary>Storage type of a device tensor. Arithmetic always accumulates in fp32.</summary>
public enum DType
{
    F32,
    F16,
}

public static class DTypeExtensions
{
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static DType Parse(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" or "float" => DType.F32,
        "f16" or "fp16" or "float16" or "half" => DType.F16,
        _ => throw new DiffuserException($"Unknown dtype '{name}'. Valid: fp32, fp16."),
    };
}
