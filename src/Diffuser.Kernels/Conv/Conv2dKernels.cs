using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Conv;

/// <summary>
/// Convolution as an implicit GEMM: rows are filters (K), columns are output pixels of the whole batch (N·OH·OW),
/// the reduction runs over C·R·S. Weight tiles are read as a k-contiguous matrix; input patches are gathered into
/// shared memory on the fly (no im2col buffer), consecutive threads reading consecutive pixels. Bias and an optional
/// residual are added in the store, or in <see cref="ReduceSplits"/> when the reduction is split across groups.
/// The kernel size is specialised so that splitting a reduction index into (channel, row, column) divides by
/// constants.
/// </summary>
public static class Conv2dKernels
{
    /// <summary>Grid (pixel tiles, filter tiles, splits); with more than one split each writes raw sums for <see cref="ReduceSplits"/>.</summary>
    public static void Conv2d(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> residual,
        ArrayView<float> y, ArrayView<float> workspace, Conv2dShape s, SplitK split, SpecializedValue<int> kernelRows, SpecializedValue<int> kernelCols)
    {
        var tileA = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        var tileB = SharedMemory.Allocate<float>(TiledMatmul.SharedLength);
        int depth = s.C * kernelRows * kernelCols, pixels = s.N * s.OH * s.OW;
        int kBegin = Grid.IdxZ * split.Length, kEnd = XMath.Min(kBegin + split.Length, depth);
        int row0 = Grid.IdxY * TiledMatmul.Size, col0 = Grid.IdxX * TiledMatmul.Size;
        var filters = new MatrixOperand(weight, s.K, depth, kContiguous: true);
        // TiledMatmul gives every thread one fixed pixel column when loading a column-contiguous operand.
        var patches = new PatchOperand(x, s, kernelRows, kernelCols, col0 + Group.IdxX % TiledMatmul.Size);
        if (split.Count == 1)
        {
            var store = new ConvEpilogue(y, bias, residual, s);
            TiledMatmul.Run(ref filters, true, ref patches, false, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
        else
        {
            var store = new PartialEpilogue(workspace.SubView((long)Grid.IdxZ * s.K * pixels, (long)s.K * pixels), s.K, pixels);
            TiledMatmul.Run(ref filters, true, ref patches, false, kBegin, kEnd, row0, col0, ref store, tileA, tileB);
        }
    }

    /// <summary>Grid-stride over [filters, pixels]: adds the splits in order, then bias and residual, into NCHW.</summary>
    public static void ReduceSplits(ArrayView<float> workspace, ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y,
        Conv2dShape s, int splits)
    {
        int pixels = s.N * s.OH * s.OW, total = s.K * pixels;
        var store = new ConvEpilogue(y, bias, residual, s);
        for (int i = KernelLoops.GridStart; i < total; i += KernelLoops.GridStride)
        {
            float sum = 0f;
            for (int p = 0; p < splits; p++) sum += workspace[(long)p * total + i];
            store.Store(i / pixels, i % pixels, sum);
        }
    }

    /// <summary>The im2col matrix [C·R·S, N·OH·OW], bound to one pixel column.</summary>
    private struct PatchOperand : ITileOperand
    {
        private readonly ArrayView<float> _x;
        private readonly int _h, _w, _r, _s, _depth, _planeBase, _iy0, _ix0;
        private readonly bool _valid;

        public PatchOperand(ArrayView<float> x, Conv2dShape s, int r, int sCols, int pixel)
        {
            _x = x;
            _h = s.H;
            _w = s.W;
            _r = r;
            _s = sCols;
            _depth = s.C * r * sCols;
            int pixels = s.OH * s.OW;
            _valid = pixel < s.N * pixels;
            int n = pixel / pixels, p = pixel - n * pixels;
            int oy = p / s.OW, ox = p - oy * s.OW;
            _planeBase = n * s.C * s.H * s.W;
            _iy0 = oy * s.Stride - s.PadTop;
            _ix0 = ox * s.Stride - s.PadLeft;
        }

        public readonly float Fetch(int mn, int k)
        {
            if (!_valid || k >= _depth) return 0f;
            int c = k / (_r * _s), rs = k - c * (_r * _s);
            int r = rs / _s;
            int iy = _iy0 + r, ix = _ix0 + rs - r * _s;
            if (iy < 0 || iy >= _h || ix < 0 || ix >= _w) return 0f;
            return _x[_planeBase + (c * _h + iy) * _w + ix];
        }
    }

    private struct ConvEpilogue : ITileEpilogue
    {
        private readonly ArrayView<float> _y, _bias, _residual;
        private readonly Conv2dShape _s;

        public ConvEpilogue(ArrayView<float> y, ArrayView<float> bias, ArrayView<float> residual, Conv2dShape s)
        {
            _y = y;
            _bias = bias;
            _residual = residual;
            _s = s;
        }

        public readonly void Store(int filter, int pixel, float acc)
        {
            int pixels = _s.OH * _s.OW;
            if (filter >= _s.K || pixel >= _s.N * pixels) return;
            int n = pixel / pixels;
            int index = (n * _s.K + filter) * pixels + pixel - n * pixels;
            if (_s.HasBias != 0) acc += _bias[filter];
            if (_s.HasResidual != 0) acc += _residual[index];
            _y[index] = acc;
        }
    }
}
