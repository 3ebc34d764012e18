using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Conv;

/// <summary>y = acc + bias[filter] + sampleBias[n, filter] + residual, each term when the shape has it.</summary>
public struct ConvEpilogue<T> : ITileEpilogue where T : struct, IElementView<T>
{
    private readonly T _y, _bias, _sampleBias, _residual;
    private readonly Conv2dShape _s;
    private int _pixelBase, _sampleBase, _inside;

    public ConvEpilogue(T y, T bias, T sampleBias, T residual, Conv2dShape s)
    {
        _y = y;
        _bias = bias;
        _sampleBias = sampleBias;
        _residual = residual;
        _s = s;
    }

    public void Store(int filter, int pixel, float acc)
    {
        BindColumn(pixel);
        StoreInColumn(filter, acc);
    }

    /// <summary>Output pixel <paramref name="pixel"/> of image n is at filter·OH·OW + (n·(K − 1)·OH·OW + pixel); its sample bias at n·K + filter.</summary>
    public void BindColumn(int pixel)
    {
        int pixels = _s.OH * _s.OW, n = pixel / pixels;
        // Kept where they are computed: ILGPU would move the division into the tensor-core store's loop.
        _pixelBase = LoopInvariant.Keep(n * (_s.K - 1) * pixels + pixel);
        _sampleBase = LoopInvariant.Keep(n * _s.K);
        _inside = LoopInvariant.Keep(pixel < _s.N * pixels ? 1 : 0);
    }

    public readonly void StoreInColumn(int filter, float acc)
    {
        if (filter >= _s.K || _inside == 0) return;
        int index = filter * (_s.OH * _s.OW) + _pixelBase;
        if (_s.HasBias != 0) acc += _bias.Load(filter);
        if (_s.HasSampleBias != 0) acc += _sampleBias.Load(_sampleBase + filter);
        if (_s.HasResidual != 0) acc += _residual.Load(index);
        _y.Store(index, acc);
    }
}
