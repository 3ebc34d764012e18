using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>Whether a backend computes with fp16 tensors, found by asking it: a tiny fp16 matrix product.</summary>
public static class HalfSupport
{
    /// <summary>Fails with a message saying fp16 is not supported yet on this backend, and why.</summary>
    public static void Require(Backend backend)
    {
        try
        {
            using var a = backend.FromHost([1f, 2f, 3f, 4f], new TensorShape(1, 2, 2), DType.F16);
            using var b = backend.FromHost([1f, 0f, 0f, 1f], new TensorShape(2, 2), DType.F16);
            using var c = backend.Gemm(a, b);
        }
        catch (DiffuserException e)
        {
            throw new DiffuserException(
                $"--dtype fp16 is not supported yet on the {backend.Name} backend: its ops compute on fp32 tensors only ({e.Message}). Use --dtype fp32.", e);
        }
    }
}
