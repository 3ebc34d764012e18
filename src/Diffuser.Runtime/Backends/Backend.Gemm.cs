using Diffuser.Kernels.Gemm;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// Batched matrix product C = act(alpha · op(A) · op(B) + bias) + residual. A is [B, M, K] ([B, K, M] with
    /// <paramref name="transA"/>); B is [B, K, N] ([B, N, K] with <paramref name="transB"/>); either may be rank 2 to
    /// share one matrix across the batch of the other. Bias is [N], or [M] with <paramref name="biasPerRow"/>; the
    /// optional <paramref name="residual"/> is [B, M, N], added in the same pass after the activation. Returns C [B, M, N].
    /// C (with bias and residual) has the operands' dtype, or with <paramref name="output"/> = F32 for fp16 operands
    /// stays fp32: the product is never rounded to fp16 (the scores of attention composed from GEMMs).
    /// </summary>
    public Tensor Gemm(Tensor a, Tensor b, bool transA = false, bool transB = false, float alpha = 1f,
        Tensor? bias = null, Activation activation = Activation.None, Tensor? residual = null, bool biasPerRow = false, DType? output = null)
    {
        var shape = GemmShapeOf("Gemm", a, b, transA, transB, alpha, bias, activation, geglu: false, biasPerRow)
            with { HasResidual = residual is null ? 0 : 1 };
        if (residual is not null) RequireShape("Gemm residual", residual, shape.Batch, shape.M, shape.N);
        return RunGemm(a, b, bias, residual, shape, GemmResultDType(a, b, bias, residual, output));
    }

    /// <summary>The dtype rule of <see cref="Gemm"/>: one dtype for every tensor, except an fp32 result (bias, residual) of fp16 operands.</summary>
    private DType GemmResultDType(Tensor a, Tensor b, Tensor? bias, Tensor? residual, DType? output)
    {
        var operands = RequireSameDType("Gemm", a, b);
        var result = ResultDType("Gemm", operands, output, DType.F16, DType.F32);
        if (result == operands) return RequireSameDType("Gemm", a, b, bias, residual);
        if ((bias ?? residual) is not null && RequireSameDType("Gemm", bias, residual) != result)
            throw new DiffuserException($"Gemm: the bias and residual of an F32 result must be F32, got {bias ?? residual}.");
        return result;
    }

    /// <summary>torch's F.linear: x [..., in] · weightᵀ + bias (+ residual [..., out]), weight [out, in]. Returns [..., out].</summary>
    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Activation activation = Activation.None, Tensor? residual = null)
    {
        using var x3 = LinearInput("Linear", x, weight);
        using var r3 = residual?.Reshape(1, (int)(residual.Length / weight.Shape[0]), weight.Shape[0]);
        var y = Gemm(x3, weight, transB: true, bias: bias, activation: activation, residual: r3);
        return y.Detach(x.Shape.WithDim(-1, weight.Shape[0]));
    }

    /// <summary>
    /// GEGLU fused into its projection: with [value | gate] = x · weightᵀ + bias (weight [2F, in], bias [2F], value and
    /// gate F wide each, as diffusers' GEGLU proj stores them), returns value · gelu(gate) [..., F] in one pass, the
    /// product never stored.
    /// </summary>
    public Tensor GegluLinear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        using var x3 = LinearInput("GegluLinear", x, weight);
        if (weight.Shape[0] % 2 != 0) throw Shape("GegluLinear", $"weight {weight.Shape} must have an even number of rows (values and gates)");
        var shape = GemmShapeOf("GegluLinear", x3, weight, false, true, 1f, bias, Activation.None, geglu: true, biasPerRow: false);
        var y = RunGemm(x3, weight, bias, null, shape, RequireSameDType("GegluLinear", x3, weight, bias));
        return y.Detach(x.Shape.WithDim(-1, shape.N));
    }

    /// <summary>x [..., in] as the [1, rows, in] left operand of a linear layer (a view).</summary>
    private Tensor LinearInput(string op, Tensor x, Tensor weight)
    {
        if (weight.Rank != 2) throw Shape(op, $"weight must be [out, in], got {weight.Shape}");
        int inFeatures = weight.Shape[1];
        if (x.Rank == 0 || x.Shape[-1] != inFeatures)
            throw Shape(op, $"input {x.Shape} does not end in {inFeatures} features (weight {weight.Shape})");
        return x.Reshape(1, (int)(x.Length / inFeatures), inFeatures);
    }

    private GemmShape GemmShapeOf(string op, Tensor a, Tensor b, bool transA, bool transB, float alpha, Tensor? bias, Activation activation,
        bool geglu, bool biasPerRow)
    {
        if (a.Rank is not (2 or 3) || b.Rank is not (2 or 3) || a.Rank + b.Rank < 5)
            throw Shape(op, $"A and B must be [batch, rows, cols], or one of them [rows, cols] shared across the batch; got {a.Shape} and {b.Shape}");
        int batch = a.Rank == 3 ? a.Shape[0] : b.Shape[0];
        int m = transA ? a.Shape[-1] : a.Shape[-2];
        int k = transA ? a.Shape[-2] : a.Shape[-1];
        int bk = transB ? b.Shape[-1] : b.Shape[-2];
        int columns = transB ? b.Shape[-2] : b.Shape[-1];
        if (bk != k) throw Shape(op, $"inner dimensions differ: A {a.Shape} (transA={transA}) and B {b.Shape} (transB={transB})");
        if (a.Rank == 3 && b.Rank == 3 && b.Shape[0] != batch) throw Shape(op, $"batch of A {a.Shape} and B {b.Shape} differ");
        if (bias is not null) RequireShape($"{op} bias", bias, biasPerRow ? m : columns);
        int n = geglu ? columns / 2 : columns;
        return new GemmShape(batch, m, n, k, transA ? 1 : 0, transB ? 1 : 0,
            a.Rank == 3 ? (long)m * k : 0, b.Rank == 3 ? (long)columns * k : 0, alpha, bias is null ? 0 : 1, activation.ToKind())
        {
            Geglu = geglu ? 1 : 0,
            BiasPerRow = biasPerRow ? 1 : 0,
        };
    }

    private Tensor RunGemm(Tensor a, Tensor b, Tensor? bias, Tensor? residual, GemmShape shape, DType output)
    {
        var c = Allocate(new TensorShape(shape.Batch, shape.M, shape.N), output);
        using (Profile("gemm", shape.Flops, c, a, b, bias, residual)) GemmCore(a, b, bias, residual, c, shape);
        return c;
    }

    protected abstract void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor? residual, Tensor c, GemmShape shape);
}
