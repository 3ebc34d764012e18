using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Gemm;

/// <summary>C[row, col] = act(alpha·acc + bias[col or row]) + residual[row, col] over the M rows of width N of one batch.</summary>
public struct GemmEpilogue<T> : ITileEpilogue, IGatedEpilogue where T : struct, IElementView<T>
{
    private readonly T _c, _bias, _residual;
    private readonly GemmShape _s;
    private readonly ActivationKind _activation;
    private int _col;

    private GemmEpilogue(T c, T bias, T residual, GemmShape s, ActivationKind activation)
    {
        _c = c;
        _bias = bias;
        _residual = residual;
        _s = s;
        _activation = activation;
    }

    /// <summary>The epilogue of batch entry <paramref name="batch"/>: its slices of C and the residual.</summary>
    public static GemmEpilogue<T> ForBatch(T c, T bias, T residual, GemmShape s, int batch, ActivationKind activation)
    {
        // Kept where it is computed: ILGPU would move the 64-bit products into the store loop, one per element.
        long mn = (long)s.M * s.N, start = LoopInvariant.Keep(batch * mn), residualStart = LoopInvariant.Keep(start * s.HasResidual);
        return new(c.SubView(start, mn), bias, residual.SubView(residualStart, mn * s.HasResidual), s, activation);
    }

    public readonly void Store(int row, int col, float acc)
    {
        if (row >= _s.M || col >= _s.N) return;
        float v = _s.Alpha * acc;
        if (_s.HasBias != 0) v += _bias.Load(_s.BiasPerRow != 0 ? row : col);
        v = ActivationMath.Apply(v, _activation);
        if (_s.HasResidual != 0) v += _residual.Load(row * _s.N + col);
        _c.Store(row * _s.N + col, v);
    }

    public void BindColumn(int col) => _col = col;

    public readonly void StoreInColumn(int row, float acc) => Store(row, _col, acc);

    /// <summary><paramref name="col"/> is a product column of a value; the output column is its block's offset plus its lane.</summary>
    public readonly void StoreGated(int row, int col, float value, float gate)
    {
        int block = col >> GemmShape.GatePairShift, j = block * GemmShape.GateBlock + col - block * 2 * GemmShape.GateBlock;
        if (row >= _s.M || j >= _s.N) return;
        float v = _s.Alpha * value, g = _s.Alpha * gate;
        if (_s.HasBias != 0)
        {
            v += _bias.Load(j);
            g += _bias.Load(_s.N + j);
        }
        _c.Store(row * _s.N + j, v * ActivationMath.GeluErf(g));
    }
}
