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
    private float _columnBias0, _columnBias1;

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
        Finish(row * _s.N + col, v);
    }

    /// <summary>Binds the columns and loads their biases (a per-column bias is the same for every row).</summary>
    public void BindColumns(int col)
    {
        _col = col;
        bool columnBias = _s.HasBias != 0 && _s.BiasPerRow == 0;
        _columnBias0 = columnBias && col < _s.N ? _bias.Load(col) : 0f;
        _columnBias1 = columnBias && col + 1 < _s.N ? _bias.Load(col + 1) : 0f;
    }

    public readonly void StorePair(int row, float acc0, float acc1)
    {
        if (row >= _s.M) return;
        int at = row * _s.N + _col;
        float v0 = _s.Alpha * acc0, v1 = _s.Alpha * acc1;
        if (_s.HasBias != 0 && _s.BiasPerRow != 0)
        {
            float rowBias = _bias.Load(row);
            v0 += rowBias;
            v1 += rowBias;
        }
        else if (_s.HasBias != 0)
        {
            v0 += _columnBias0;
            v1 += _columnBias1;
        }
        if (_col < _s.N) Finish(at, v0);
        if (_col + 1 < _s.N) Finish(at + 1, v1);
    }

    /// <summary>Activation and residual of the scaled, biased value <paramref name="v"/> at <paramref name="index"/>, then the store.</summary>
    private readonly void Finish(int index, float v)
    {
        v = ActivationMath.Apply(v, _activation);
        if (_s.HasResidual != 0) v += _residual.Load(index);
        _c.Store(index, v);
    }

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
