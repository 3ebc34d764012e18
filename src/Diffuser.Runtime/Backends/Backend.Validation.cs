using Diffuser.Kernels.Elementwise;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>Fails unless every tensor lives on this backend and is stored as fp32.</summary>
    protected void RequireF32(params Tensor[] tensors)
    {
        foreach (var t in tensors)
        {
            RequireOwn(t);
            if (t.DType != DType.F32)
                throw new DiffuserException($"{Name}: this op needs fp32 tensors, got {t}.");
        }
    }

    protected static void RequireShape(string what, Tensor t, params int[] expected)
    {
        if (!t.Shape.Equals(new TensorShape(expected)))
            throw Shape(what, $"expected {new TensorShape(expected)}, got {t.Shape}");
    }

    protected static DiffuserException Shape(string op, string detail) => new($"{op}: {detail}.");
}

public static class ActivationExtensions
{
    public static ActivationKind ToKind(this Activation activation) => (ActivationKind)(int)activation;
}
