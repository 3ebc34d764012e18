using Diffuser.Kernels.Elementwise;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>y = act(x), element-wise.</summary>
    public Tensor Activate(Tensor x, Activation activation)
    {
        var y = Allocate(x.Shape, RequireSameDType("Activate", x));
        using (Profile("activation", x.Length, y, x)) ActivateCore(x, y, activation.ToKind());
        return y;
    }

    public Tensor Add(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Add);
    public Tensor Subtract(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Subtract);
    public Tensor Multiply(Tensor a, Tensor b) => Binary(a, b, BinaryOp.Multiply);

    private Tensor Binary(Tensor a, Tensor b, BinaryOp op)
    {
        var dtype = RequireSameDType(op.ToString(), a, b);
        if (!a.Shape.Equals(b.Shape)) throw Shape(op.ToString(), $"shapes differ: {a.Shape} and {b.Shape}");
        var y = Allocate(a.Shape, dtype);
        using (Profile(op.ToString().ToLowerInvariant(), a.Length, y, a, b)) BinaryCore(a, b, y, op);
        return y;
    }

    /// <summary>y = clamp(scale·x + shift, min, max), element-wise.</summary>
    public Tensor Affine(Tensor x, float scale, float shift = 0f, float min = float.NegativeInfinity, float max = float.PositiveInfinity)
    {
        var y = Allocate(x.Shape, RequireSameDType("Affine", x));
        using (Profile("affine", 2 * x.Length, y, x)) AffineCore(x, y, scale, shift, min, max);
        return y;
    }

    /// <summary>x [N, C, ...] plus a bias per channel: bias [C], or [N, C] for a per-sample bias.</summary>
    public Tensor AddChannelBias(Tensor x, Tensor bias)
    {
        var dtype = RequireSameDType("AddChannelBias", x, bias);
        if (x.Rank < 2) throw Shape("AddChannelBias", $"input must be [N, C, ...], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1];
        bool perSample = bias.Rank == 2;
        if (perSample) RequireShape("AddChannelBias bias", bias, n, c);
        else RequireShape("AddChannelBias bias", bias, c);
        var y = Allocate(x.Shape, dtype);
        using (Profile("channel_bias", x.Length, y, x, bias)) AddChannelBiasCore(x, bias, y, c, (int)x.Shape.Product(2, x.Rank), perSample ? c : 0);
        return y;
    }

    /// <summary>GEGLU: x [..., 2F] → x[..., :F] · gelu(x[..., F:]) [..., F].</summary>
    public Tensor Geglu(Tensor x)
    {
        var dtype = RequireSameDType("Geglu", x);
        if (x.Rank == 0 || x.Shape[-1] % 2 != 0) throw Shape("Geglu", $"last dimension of {x.Shape} must be even");
        var y = Allocate(x.Shape.WithDim(-1, x.Shape[-1] / 2), dtype);
        using (Profile("geglu", y.Length, y, x)) GegluCore(x, y, x.Shape[-1] / 2);
        return y;
    }

    /// <summary>Concatenates two tensors along <paramref name="axis"/>; every other dimension must agree.</summary>
    public Tensor Concat(Tensor a, Tensor b, int axis = 1)
    {
        var dtype = RequireSameDType("Concat", a, b);
        if (a.Rank != b.Rank || axis < 0 || axis >= a.Rank) throw Shape("Concat", $"cannot join {a.Shape} and {b.Shape} on axis {axis}");
        for (int i = 0; i < a.Rank; i++)
            if (i != axis && a.Shape[i] != b.Shape[i]) throw Shape("Concat", $"{a.Shape} and {b.Shape} differ outside axis {axis}");
        var y = Allocate(a.Shape.WithDim(axis, a.Shape[axis] + b.Shape[axis]), dtype);
        int outer = (int)a.Shape.Product(0, axis);
        using (Profile("concat", 0, y, a, b)) ConcatCore(a, b, y, outer, (int)(a.Length / Math.Max(outer, 1)), (int)(b.Length / Math.Max(outer, 1)));
        return y;
    }

    /// <summary>Copies entries [start, start + length) of <paramref name="axis"/> into a new tensor (torch's narrow/chunk).</summary>
    public Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        var dtype = RequireSameDType("Narrow", x);
        if (axis < 0 || axis >= x.Rank || start < 0 || length < 0 || start + length > x.Shape[axis])
            throw Shape("Narrow", $"[{start}, {start + length}) is outside axis {axis} of {x.Shape}");
        var y = Allocate(x.Shape.WithDim(axis, length), dtype);
        int inner = (int)x.Shape.Product(axis + 1, x.Rank);
        using (Profile("narrow", 0, 2 * y.Length * dtype.SizeInBytes(), y.Shape)) NarrowCore(x, y, (int)x.Shape.Product(0, axis), x.Shape[axis] * inner, start * inner, length * inner);
        return y;
    }

    /// <summary>Swaps the last two dimensions: [B, M, N] → [B, N, M] (NCHW ↔ token layout for transformers).</summary>
    public Tensor Transpose(Tensor x)
    {
        var dtype = RequireSameDType("Transpose", x);
        if (x.Rank != 3) throw Shape("Transpose", $"input must be [B, M, N], got {x.Shape}");
        var y = Allocate(new TensorShape(x.Shape[0], x.Shape[2], x.Shape[1]), dtype);
        using (Profile("transpose", 0, y, x)) TransposeCore(x, y, x.Shape[0], x.Shape[1], x.Shape[2]);
        return y;
    }

    protected abstract void ActivateCore(Tensor x, Tensor y, ActivationKind kind);
    protected abstract void BinaryCore(Tensor a, Tensor b, Tensor y, BinaryOp op);
    protected abstract void AffineCore(Tensor x, Tensor y, float scale, float shift, float min, float max);
    protected abstract void AddChannelBiasCore(Tensor x, Tensor bias, Tensor y, int channels, int spatial, int biasBatchStride);
    protected abstract void GegluCore(Tensor x, Tensor y, int half);
    protected abstract void ConcatCore(Tensor a, Tensor b, Tensor y, int outer, int innerA, int innerB);
    protected abstract void NarrowCore(Tensor x, Tensor y, int outer, int sourceInner, int start, int length);
    protected abstract void TransposeCore(Tensor x, Tensor y, int batch, int rows, int cols);
}
