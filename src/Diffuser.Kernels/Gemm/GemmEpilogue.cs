using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Gemm;

/// <summary>C[row, col] = act(alpha·acc + bias[col or row]) + residual[row, col] over <c>rows</c> rows of width N.</summary>
public readonly struct GemmEpilogue<T> : ITileEpilogue, IGatedEpilogue where T : struct, IElementView<T>
{
    private readonly T _c, _bias, _residual;
    private readonly int _rows;
    private readonly GemmShape _s;
    private readonly ActivationKind _activation;

    public GemmEpilogue(T c, T bias, T residual, int rows, GemmShape s, ActivationKind activation)
    {
        _c = c;
        _bias = bias;
        _residual = residual;
        _rows = rows;
        _s = s;
        _activation = activation;
    }

    public void Store(int row, int col, float acc)
    {
        if (row >= _rows || col >= _s.N) return;
        float v = _s.Alpha * acc;
        if (_s.HasBias != 0) v += _bias.Load(_s.BiasPerRow != 0 ? row % _s.M : col);
        v = ActivationMath.Apply(v, _activation);
        if (_s.HasResidual != 0) v += _residual.Load(row * _s.N + col);
        _c.Store(row * _s.N + col, v);
    }

    /// <summary><paramref name="col"/> is a product column of a value; the output column is its block's offset plus its lane.</summary>
    public void StoreGated(int row, int col, float value, float gate)
    {
        int block = col >> GemmShape.GatePairShift, j = block * GemmShape.GateBlock + col - block * 2 * GemmShape.GateBlock;
        if (row >= _rows || j >= _s.N) return;
        float v = _s.Alpha * value, g = _s.Alpha * gate;
        if (_s.HasBias != 0)
        {
            v += _bias.Load(j);
            g += _bias.Load(_s.N + j);
        }
        _c.Store(row * _s.N + j, v * ActivationMath.GeluErf(g));
    }
}
