using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Gemm;

/// <summary>
/// Batched GEMM kernel: grid (N tiles, M tiles, batch) of <see cref="TiledMatmul.Threads"/> threads, each group one
/// 128×128 tile of C through <see cref="TiledMatmul"/>, with alpha, bias and activation fused into the store. The
/// activation is specialised: otherwise every one of the 64 stores per thread would inline every activation.
/// </summary>
public static class GemmKernels
{
    public static void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, GemmShape s,
        SpecializedValue<int> activation)
    {
        var tileA = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        var tileB = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        int batch = Grid.IdxZ;
        var opA = new MatrixOperand(a.SubView(batch * s.BatchStrideA, (long)s.M * s.K), s.M, s.K, kContiguous: s.TransA == 0);
        var opB = new MatrixOperand(b.SubView(batch * s.BatchStrideB, (long)s.N * s.K), s.N, s.K, kContiguous: s.TransB != 0);
        var store = new GemmEpilogue(c.SubView((long)batch * s.M * s.N, (long)s.M * s.N), bias, s, (ActivationKind)activation.Value);
        TiledMatmul.Run(ref opA, opA.KContiguous, ref opB, opB.KContiguous, s.K,
            Grid.IdxY * TiledMatmul.Size, Grid.IdxX * TiledMatmul.Size, ref store, tileA, tileB);
    }

    private struct GemmEpilogue : ITileEpilogue
    {
        private readonly ArrayView<float> _c, _bias;
        private readonly GemmShape _s;
        private readonly ActivationKind _activation;

        public GemmEpilogue(ArrayView<float> c, ArrayView<float> bias, GemmShape s, ActivationKind activation)
        {
            _c = c;
            _bias = bias;
            _s = s;
            _activation = activation;
        }

        public readonly void Store(int row, int col, float acc)
        {
            if (row >= _s.M || col >= _s.N) return;
            float v = _s.Alpha * acc;
            if (_s.HasBias != 0) v += _bias[col];
            _c[row * _s.N + col] = ActivationMath.Apply(v, _activation);
        }
    }
}
