using Diffuser.Kernels.Gemm;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// Batched matrix product C = act(alpha · op(A) · op(B) + bias). A is [B, M, K] ([B, K, M] with
    /// <paramref name="transA"/>); B is [B, K, N] ([B, N, K] with <paramref name="transB"/>) or rank 2 to share one
    /// matrix across the batch. Bias is [N]. Returns C [B, M, N].
    /// </summary>
    public Tensor Gemm(Tensor a, Tensor b, bool transA = false, bool transB = false, float alpha = 1f,
        Tensor? bias = null, Activation activation = Activation.None)
    {
        RequireF32(a, b);
        if (a.Rank != 3) throw Shape("Gemm", $"A must be [batch, rows, cols], got {a.Shape}");
        if (b.Rank is not (2 or 3)) throw Shape("Gemm", $"B must be rank 2 or 3, got {b.Shape}");
        int batch = a.Shape[0];
        int m = transA ? a.Shape[2] : a.Shape[1];
        int k = transA ? a.Shape[1] : a.Shape[2];
        int bk = transB ? b.Shape[-1] : b.Shape[-2];
        int n = transB ? b.Shape[-2] : b.Shape[-1];
        if (bk != k) throw Shape("Gemm", $"inner dimensions differ: A {a.Shape} (transA={transA}) and B {b.Shape} (transB={transB})");
        if (b.Rank == 3 && b.Shape[0] != batch) throw Shape("Gemm", $"batch of A {a.Shape} and B {b.Shape} differ");
        if (bias is not null) { RequireF32(bias); RequireShape("Gemm bias", bias, n); }
        var shape = new GemmShape(batch, m, n, k, transA ? 1 : 0, transB ? 1 : 0,
            (long)m * k, b.Rank == 3 ? (long)n * k : 0, alpha, bias is null ? 0 : 1, activation.ToKind());
        var c = Allocate(new TensorShape(batch, m, n));
        using (Profile("gemm", shape.Flops, c, a, b, bias)) GemmCore(a, b, bias, c, shape);
        return c;
    }

    /// <summary>torch's F.linear: x [..., in] · weightᵀ + bias, weight [out, in]. Returns [..., out].</summary>
    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Activation activation = Activation.None)
    {
        if (weight.Rank != 2) throw Shape("Linear", $"weight must be [out, in], got {weight.Shape}");
        int inFeatures = weight.Shape[1];
        if (x.Rank == 0 || x.Shape[-1] != inFeatures)
            throw Shape("Linear", $"input {x.Shape} does not end in {inFeatures} features (weight {weight.Shape})");
        long rows = x.Length / inFeatures;
        using var x3 = x.Reshape(1, (int)rows, inFeatures);
        var y = Gemm(x3, weight, transB: true, bias: bias, activation: activation);
        var outShape = x.Shape.WithDim(-1, weight.Shape[0]);
        return y.Detach(outShape);
    }

    protected abstract void GemmCore(Tensor a, Tensor b, Tensor? bias, Tensor c, GemmShape shape);
}
