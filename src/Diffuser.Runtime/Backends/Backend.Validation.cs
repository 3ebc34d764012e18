using Diffuser.Kernels.Elementwise;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>Fails unless every tensor lives on this backend and is stored as fp32 (the sampler step's rule).</summary>
    protected void RequireF32(params Tensor[] tensors)
    {
        foreach (var t in tensors)
        {
            RequireOwn(t);
            if (t.DType != DType.F32)
                throw new DiffuserException($"{Name}: this op needs fp32 tensors, got {t}.");
        }
    }

    /// <summary>
    /// The one dtype rule of the compute ops: every tensor of one call (inputs, weights, biases, norm gains, residuals)
    /// has the same storage dtype, and the result gets it. fp16 tensors are computed as the fp32 values they hold,
    /// accumulated in fp32, and the result is rounded to fp16 once (GEMM and softmax allow one mix each, see
    /// <see cref="ResultDType"/>). Null entries (absent optional inputs) are skipped.
    /// Returns the shared dtype.
    /// </summary>
    protected DType RequireSameDType(string op, params ReadOnlySpan<Tensor?> tensors) => RequireSameDType(op, blockedInput: false, tensors);

    /// <summary>As <see cref="RequireSameDType(string, ReadOnlySpan{Tensor?})"/>; only the first tensor, and only with <paramref name="blockedInput"/> (a convolution's input), may be channel-blocked.</summary>
    private DType RequireSameDType(string op, bool blockedInput, ReadOnlySpan<Tensor?> tensors)
    {
        DType? dtype = null;
        Tensor? first = null;
        for (int i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            if (t is null) continue;
            RequireOwn(t);
            if (t.Layout == TensorLayout.ChannelBlocked && !(blockedInput && i == 0))
                throw new DiffuserException($"{op}: {t} is stored channel-blocked for a convolution; only Conv2d reads it, as its input.");
            if (dtype is null)
            {
                (dtype, first) = (t.DType, t);
                continue;
            }
            if (t.DType != dtype)
                throw new DiffuserException($"{op}: every tensor of one op must have the same dtype; got {first} and {t}. Convert one of them first.");
        }
        return dtype ?? throw new ArgumentException("No tensor to take the dtype from.", nameof(tensors));
    }

    /// <summary>
    /// The result dtype of an op on inputs of dtype <paramref name="inputs"/>: theirs, or <paramref name="output"/> for
    /// the one mix the op allows (<paramref name="from"/> → <paramref name="to"/>: a GEMM's fp32 product of fp16
    /// operands, a softmax's fp16 probabilities of fp32 scores).
    /// </summary>
    protected static DType ResultDType(string op, DType inputs, DType? output, DType from, DType to)
    {
        var result = output ?? inputs;
        if (result != inputs && (inputs, result) != (from, to))
            throw new DiffuserException($"{op}: {inputs} inputs give a {inputs} result (or {to} from {from}), not {result}.");
        return result;
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
