using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Gemm;

/// <summary>C[row, col] = act(alpha·acc + bias[col or row]) + residual[row, col] over the M rows of width N of one batch.</summary>
public struct GemmEpilogue<T> : ITileEpilogue, IGatedEpilogue where T : struct, IElementView<T>
{
    private readonly T _c, _bias, _residual;
    private readonly GemmShape _s;
    private readonly ActivationKind _activation;
    private int _col;
    private Row8 _columnBiases, _gateBiases;

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
        return s.ChunkedStores != 0
            ? new(c.ChunkSubView(start, mn), bias, residual.ChunkSubView(residualStart, mn * s.HasResidual), s, activation)
            : new(c.SubView(start, mn), bias, residual.SubView(residualStart, mn * s.HasResidual), s, activation);
    }

    public readonly void Store(int row, int col, float acc)
    {
        if (row >= _s.M || col >= _s.N) return;
        float v = _s.Alpha * acc;
        if (_s.HasBias != 0) v += _bias.Load(_s.BiasPerRow != 0 ? row : col);
        Finish(row * _s.N + col, v);
    }

    /// <summary>Binds the columns and loads their biases (a per-column bias is the same for every row).</summary>
    public void BindChunk(int col)
    {
        _col = col;
        if (_s.HasBias != 0 && _s.BiasPerRow == 0) _columnBiases = Row8.Load(_bias, col, _s.N - col);
    }

    /// <summary>
    /// The row's bias where the bias is per row, and with chunked stores its residual's eight. Rows and columns past
    /// the product's read its last ones instead (<see cref="StoreChunk"/> stores nothing there): a test would be a
    /// branch, and ptxas keeps a branch's load with the conversion that waits for it, so the next row's load would wait.
    /// </summary>
    public readonly ChunkInputs LoadChunk(int row)
    {
        var inputs = default(ChunkInputs);
        int last = XMath.Min(row, _s.M - 1);
        if (_s.HasBias != 0 && _s.BiasPerRow != 0) inputs.Bias = _bias.Load(last);
        if (_s.HasResidual != 0 && _s.ChunkedStores != 0) inputs.Residual = _residual.LoadEight(last * _s.N + XMath.Min(_col, _s.N - 8));
        return inputs;
    }

    public readonly void StoreChunk(int row, in Row8 acc, in ChunkInputs inputs)
    {
        if (row >= _s.M) return;
        var v = acc.Times(_s.Alpha);
        if (_s.HasBias != 0) v = _s.BiasPerRow != 0 ? v.Plus(inputs.Bias) : v.Plus(_columnBiases);
        Put(row * _s.N + _col, v.Activated(_activation), _s.HasResidual != 0, inputs.Residual);
    }

    /// <summary>
    /// Stores finished values of the bound columns at <paramref name="at"/>, plus the residual's when
    /// <paramref name="residual"/>: with chunked stores <paramref name="chunkResidual"/>, else read element by element.
    /// </summary>
    private readonly void Put(int at, in Row8 v, bool residual, in Row8 chunkResidual)
    {
        if (_s.ChunkedStores != 0)
        {
            if (_col < _s.N) _c.StoreEight(at, residual ? v.Plus(chunkResidual) : v);
            return;
        }
        PutColumn(at, 0, v.V0, residual); PutColumn(at, 1, v.V1, residual); PutColumn(at, 2, v.V2, residual); PutColumn(at, 3, v.V3, residual);
        PutColumn(at, 4, v.V4, residual); PutColumn(at, 5, v.V5, residual); PutColumn(at, 6, v.V6, residual); PutColumn(at, 7, v.V7, residual);
    }

    private readonly void PutColumn(int at, int j, float v, bool residual)
    {
        if (_col + j < _s.N) _c.Store(at + j, residual ? v + _residual.Load(at + j) : v);
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
        int j = GatedOutputColumn(col);
        if (row >= _s.M || j >= _s.N) return;
        float v = _s.Alpha * value, g = _s.Alpha * gate;
        if (_s.HasBias != 0)
        {
            v += _bias.Load(j);
            g += _bias.Load(_s.N + j);
        }
        _c.Store(row * _s.N + j, v * ActivationMath.GeluErf(g));
    }

    /// <summary>Binds the output columns of product columns <paramref name="col"/> … col + 7 (values) and loads their biases and their gates'.</summary>
    public void BindGatedChunk(int col)
    {
        _col = GatedOutputColumn(col);
        if (_s.HasBias == 0) return;
        _columnBiases = Row8.Load(_bias, _col, _s.N - _col);
        _gateBiases = Row8.Load(_bias, _s.N + _col, _s.N - _col);
    }

    public readonly void StoreGatedChunk(int row, in Row8 values, in Row8 gates)
    {
        if (row >= _s.M) return;
        Row8 v = values.Times(_s.Alpha), g = gates.Times(_s.Alpha);
        if (_s.HasBias != 0)
        {
            v = v.Plus(_columnBiases);
            g = g.Plus(_gateBiases);
        }
        Put(row * _s.N + _col, v.Times(g.Activated(ActivationKind.GeluErf)), residual: false, default);
    }

    private static int GatedOutputColumn(int col)
    {
        int block = col >> GemmShape.GatePairShift;
        return block * GemmShape.GateBlock + col - block * 2 * GemmShape.GateBlock;
    }
}
