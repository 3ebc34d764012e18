using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Conv;

/// <summary>y = acc + bias[filter] + sampleBias[n, filter] + residual, each term when the shape has it.</summary>
public struct ConvEpilogue<T> : ITileEpilogue where T : struct, IElementView<T>
{
    private readonly T _y, _bias, _sampleBias, _residual;
    private readonly Conv2dShape _s;

    public ConvEpilogue(T y, T bias, T sampleBias, T residual, Conv2dShape s)
    {
        _y = y;
        _bias = bias;
        _sampleBias = sampleBias;
        _residual = residual;
        _s = s;
    }

    public readonly void Store(int filter, int pixel, float acc)
    {
        int pixels = _s.OH * _s.OW;
        if (filter >= _s.K || pixel >= _s.N * pixels) return;
        int n = pixel / pixels;
        int index = (n * _s.K + filter) * pixels + pixel - n * pixels;
        if (_s.HasBias != 0) acc += _bias.Load(filter);
        if (_s.HasSampleBias != 0) acc += _sampleBias.Load(n * _s.K + filter);
        if (_s.HasResidual != 0) acc += _residual.Load(index);
        _y.Store(index, acc);
    }
}
