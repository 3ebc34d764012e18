using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// C[b] = act(alpha · op(A[b]) · op(B[b]) + bias) + residual, C [Batch, M, N] row-major.
/// op(A) is [M, K]: A is stored [M, K], or [K, M] when <see cref="TransA"/> is 1.
/// op(B) is [K, N]: B is stored [K, N], or [N, K] when <see cref="TransB"/> is 1 (a Linear weight).
/// A batch stride of 0 shares one operand across the batch. Bias is per column N (or per row, <see cref="BiasPerRow"/>).
/// </summary>
public readonly record struct GemmShape(
    int Batch, int M, int N, int K,
    int TransA, int TransB,
    long BatchStrideA, long BatchStrideB,
    float Alpha, int HasBias, ActivationKind Activation)
{
    /// <summary>Output columns per gated block: a 128-column product tile holds 64 values and then their 64 gates.</summary>
    public const int GateBlock = 64;

    /// <summary>log₂ of a gated block pair (2·<see cref="GateBlock"/> product columns): device code shifts, as ptxas divides slowly.</summary>
    public const int GatePairShift = 7;

    /// <summary>1: the bias has one entry per row M instead of per column (a 1×1 convolution written as W·Xᵀ).</summary>
    public int BiasPerRow { get; init; }

    /// <summary>1: a residual [Batch, M, N] is added to the result (after the activation).</summary>
    public int HasResidual { get; init; }

    /// <summary>
    /// 1: N is a multiple of 8 and C and the residual start 16-byte aligned (the caller knows where they are), so the tensor-core
    /// store writes 8 fp16 columns with one 16-byte store.
    /// </summary>
    public int ChunkedStores { get; init; }

    /// <summary>Bias, per-row bias and residual as bits 0, 1, 2, chunked stores bit 3: what a kernel may specialise its epilogue on.</summary>
    public int EpilogueFlags => HasBias | BiasPerRow << 1 | HasResidual << 2 | ChunkedStores << 3;

    /// <summary>This shape with <paramref name="flags"/> (<see cref="EpilogueFlags"/>; a kernel constant, so the epilogue's tests fold away).</summary>
    public GemmShape WithEpilogueFlags(int flags) => this with { HasBias = flags & 1, BiasPerRow = flags >> 1 & 1, HasResidual = flags >> 2 & 1, ChunkedStores = flags >> 3 & 1 };

    /// <summary>
    /// 1: GEGLU is fused. op(B) then has 2·N columns, values (0..N−1) and their gates (N..2N−1), bias 2·N entries, and
    /// C[., j] = (alpha·v_j + bias_j) · gelu(alpha·g_j + bias_{N+j}). The kernel computes product tiles of
    /// <see cref="GateBlock"/> values followed by their gates, so value and gate meet in one thread.
    /// </summary>
    public int Geglu { get; init; }

    /// <summary>Columns of op(B): N, or 2·N with GEGLU.</summary>
    public int BColumns => Geglu != 0 ? 2 * N : N;

    /// <summary>Columns of the product the kernel computes: N, or with GEGLU 2·64 per block of 64 outputs.</summary>
    public int ProductColumns => Geglu != 0 ? 2 * GateBlock * ((N + GateBlock - 1) / GateBlock) : N;

    public long Flops => 2L * Batch * M * BColumns * K;

    /// <summary>Column of op(B) that product column <paramref name="p"/> reads; ≥ <see cref="BColumns"/> for padding.</summary>
    public int GatedSource(int p)
    {
        int block = p >> GatePairShift, lane = p - block * 2 * GateBlock;
        int gate = lane >= GateBlock ? 1 : 0;
        int j = block * GateBlock + lane - gate * GateBlock;
        return j < N ? j + gate * N : BColumns;
    }
}
