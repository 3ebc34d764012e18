using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// C[b] = act(alpha · op(A[b]) · op(B[b]) + bias), C [Batch, M, N] row-major.
/// op(A) is [M, K]: A is stored [M, K], or [K, M] when <see cref="TransA"/> is 1.
/// op(B) is [K, N]: B is stored [K, N], or [N, K] when <see cref="TransB"/> is 1 (a Linear weight).
/// A batch stride of 0 shares one operand across the batch. Bias is per column N.
/// </summary>
public readonly record struct GemmShape(
    int Batch, int M, int N, int K,
    int TransA, int TransB,
    long BatchStrideA, long BatchStrideB,
    float Alpha, int HasBias, ActivationKind Activation)
{
    public long Flops => 2L * Batch * M * N * K;
}
