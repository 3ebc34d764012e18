using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// Batched GEMM (device code): grid (N tiles, M tiles, batch × splits) of <see cref="TiledMatmul.Threads"/> threads,
/// each group one 128×128 tile of C through <see cref="TiledMatmul"/>. Without a reduction split, alpha, bias and the
/// activation are fused into the store; with one, each split writes raw sums and <see cref="ReduceSplits"/> finishes.
/// The activation is specialised: otherwise each of the 64 stores per thread would inline every activation.
/// </summary>
public static class GemmKernels
{
    public static void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, ArrayView<float> workspace,
        GemmShape s, SplitK split, SpecializedValue<int> activation)
    {
        var tileA = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        var tileB = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        int batch = Grid.IdxZ / split.Count, part = Grid.IdxZ - batch * split.Count;
        int kBegin = part * split.Length, kEnd = XMath.Min(kBegin + split.Length, s.K);
        long mn = (long)s.M * s.N;
        var opA = new MatrixOperand(a.SubView(batch * s.BatchStrideA, (long)s.M * s.K), s.M, s.K, kContiguous: s.TransA == 0);
        var opB = new MatrixOperand(b.SubView(batch * s.BatchStrideB, (long)s.N * s.K), s.N, s.K, kContiguous: s.TransB != 0);
        int row0 = Grid.IdxY * TiledMatmul.Size, col0 = Grid.IdxX * TiledMatmul.Size;
        if (split.Count == 1)
        {
            var store = new GemmEpilogue(c.SubView(batch * mn, mn), bias, s.M, s, (ActivationKind)activation.Value);
            TiledMatmul.Run(ref opA, opA.KContiguous, ref opB, opB.KContiguous, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
        else
        {
            var store = new PartialEpilogue(workspace.SubView(((long)part * s.Batch + batch) * mn, mn), s.M, s.N);
            TiledMatmul.Run(ref opA, opA.KContiguous, ref opB, opB.KContiguous, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
    }

    /// <summary>Grid-stride over C: adds the splits' partial sums in order, then applies alpha, bias and the activation.</summary>
    public static void ReduceSplits(ArrayView<float> workspace, ArrayView<float> bias, ArrayView<float> c, GemmShape s, int splits,
        SpecializedValue<int> activation)
    {
        int total = s.Batch * s.M * s.N;
        var store = new GemmEpilogue(c, bias, s.Batch * s.M, s, (ActivationKind)activation.Value);
        for (int i = KernelLoops.GridStart; i < total; i += KernelLoops.GridStride)
        {
            float sum = 0f;
            for (int p = 0; p < splits; p++) sum += workspace[(long)p * total + i];
            store.Store(i / s.N, i % s.N, sum);
        }
    }

    /// <summary>C[row, col] = act(alpha·acc + bias[col]) over <c>rows</c> rows of width N.</summary>
    private readonly struct GemmEpilogue : ITileEpilogue
    {
        private readonly ArrayView<float> _c, _bias;
        private readonly int _rows;
        private readonly GemmShape _s;
        private readonly ActivationKind _activation;

        public GemmEpilogue(ArrayView<float> c, ArrayView<float> bias, int rows, GemmShape s, ActivationKind activation)
        {
            _c = c;
            _bias = bias;
            _rows = rows;
            _s = s;
            _activation = activation;
        }

        public void Store(int row, int col, float acc)
        {
            if (row >= _rows || col >= _s.N) return;
            float v = _s.Alpha * acc;
            if (_s.HasBias != 0) v += _bias[col];
            _c[row * _s.N + col] = ActivationMath.Apply(v, _activation);
        }
    }
}
