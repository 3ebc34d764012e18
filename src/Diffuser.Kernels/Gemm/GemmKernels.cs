using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// Batched GEMM (device code), generic over the storage of A, B, bias, residual and C: grid (N tiles, M tiles,
/// batch × splits) of <see cref="TiledMatmul.Threads"/> threads, each group one 128×128 tile of C through
/// <see cref="TiledMatmul"/>. Without a reduction split, alpha, bias, the activation, a residual or the fused GEGLU are
/// applied in the store; with one, each split writes raw fp32 sums and <see cref="ReduceSplits"/> finishes. The
/// activation and GEGLU are specialised: otherwise each of the 64 stores per thread would inline every activation.
/// </summary>
public static class GemmKernels
{
    public static void Gemm<T>(T a, T b, T bias, T residual, T c, ArrayView<float> workspace,
        GemmShape s, SplitK split, SpecializedValue<int> activation, SpecializedValue<int> geglu) where T : struct, IElementView<T>
    {
        var tileA = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        var tileB = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        int batch = Grid.IdxZ / split.Count, part = Grid.IdxZ - batch * split.Count;
        int kBegin = part * split.Length, kEnd = XMath.Min(kBegin + split.Length, s.K);
        var opA = new MatrixOperand<T>(a.SubView(batch * s.BatchStrideA, (long)s.M * s.K), s.M, s.K, kContiguous: s.TransA == 0);
        var opB = new MatrixOperand<T>(b.SubView(batch * s.BatchStrideB, (long)s.BColumns * s.K), s.BColumns, s.K, kContiguous: s.TransB != 0);
        int row0 = Grid.IdxY * TiledMatmul.Size, col0 = Grid.IdxX * TiledMatmul.Size;
        var store = GemmEpilogue<T>.ForBatch(c, bias, residual, s, batch, (ActivationKind)activation.Value);
        if (geglu.Value != 0)
        {
            var gated = new GatedColumns<MatrixOperand<T>>(opB, s);
            if (split.Count == 1)
                TiledMatmul.RunGated(ref opA, opA.KContiguous, ref gated, opB.KContiguous, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
            else
            {
                var partial = Partial(workspace, part, batch, s);
                TiledMatmul.Run(ref opA, opA.KContiguous, ref gated, opB.KContiguous, kBegin, kEnd, row0, col0, ref partial, tileA, tileB);
            }
        }
        else if (split.Count == 1)
            TiledMatmul.Run(ref opA, opA.KContiguous, ref opB, opB.KContiguous, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        else
        {
            var partial = Partial(workspace, part, batch, s);
            TiledMatmul.Run(ref opA, opA.KContiguous, ref opB, opB.KContiguous, kBegin, kEnd, row0, col0, ref partial, tileA, tileB);
        }
    }

    /// <summary>Split <paramref name="part"/>'s raw sums of one batch entry: [M, product columns] in the workspace.</summary>
    private static PartialEpilogue Partial(ArrayView<float> workspace, int part, int batch, in GemmShape s)
    {
        long size = (long)s.M * s.ProductColumns;
        return new PartialEpilogue(workspace, ((long)part * s.Batch + batch) * size, s.M, s.ProductColumns, chunkedRows: false);
    }

    /// <summary>
    /// Grid-stride over each batch entry's C: adds the splits' partial sums in order, then applies the epilogue (GEGLU
    /// reads a value and its gate, 64 product columns apart).
    /// </summary>
    public static void ReduceSplits<T>(ArrayView<float> workspace, T bias, T residual, T c, GemmShape s, int splits,
        SpecializedValue<int> activation, SpecializedValue<int> geglu) where T : struct, IElementView<T>
    {
        int mn = s.M * s.N, total = s.Batch * mn, columns = s.ProductColumns;
        long productTotal = (long)s.Batch * s.M * columns;
        for (int batch = 0; batch < s.Batch; batch++)
        {
            var store = GemmEpilogue<T>.ForBatch(c, bias, residual, s, batch, (ActivationKind)activation.Value);
            for (int i = KernelLoops.GridStart; i < mn; i += KernelLoops.GridStride)
            {
                int row = i / s.N, col = i - row * s.N;
                if (geglu.Value != 0)
                {
                    int p = col / GemmShape.GateBlock * 2 * GemmShape.GateBlock + col % GemmShape.GateBlock;
                    float value = 0f, gate = 0f;
                    for (int k = 0; k < splits; k++)
                    {
                        long at = k * productTotal + ((long)batch * s.M + row) * columns + p;
                        value += workspace[at];
                        gate += workspace[at + GemmShape.GateBlock];
                    }
                    store.StoreGated(row, p, value, gate);
                }
                else
                {
                    float sum = 0f;
                    for (int k = 0; k < splits; k++) sum += workspace[(long)k * total + batch * mn + i];
                    store.Store(row, col, sum);
                }
            }
        }
    }

    /// <summary>op(B) read through the GEGLU product order: column p of the product is column GatedSource(p) of op(B).</summary>
    private readonly struct GatedColumns<TB>(TB inner, GemmShape s) : ITileOperand where TB : struct, ITileOperand
    {
        private readonly TB _inner = inner;
        private readonly GemmShape _s = s;

        public float Fetch(int mn, int k) => _inner.Fetch(_s.GatedSource(mn), k);
    }
}
