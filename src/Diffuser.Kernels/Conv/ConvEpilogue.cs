using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Conv;

/// <summary>y = acc + bias[filter] + sampleBias[n, filter] + residual, each term when the shape has it.</summary>
public struct ConvEpilogue<T> : ITileEpilogue where T : struct, IElementView<T>
{
    private readonly T _y, _bias, _sampleBias, _residual;
    private readonly Conv2dShape _s;
    private OutputPixel _first, _second;

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
        if (filter < _s.K) Store(filter, OutputPixel.Of(_s, pixel), acc, _s.HasBias != 0 ? _bias.Load(filter) : 0f);
    }

    public void BindColumns(int pixel)
    {
        // Kept where they are computed: ILGPU would move the divisions into the tensor-core store's loop.
        _first = OutputPixel.Of(_s, pixel).Kept();
        _second = OutputPixel.Of(_s, pixel + 1).Kept();
    }

    public readonly void StorePair(int filter, float acc0, float acc1)
    {
        if (filter >= _s.K) return;
        float bias = _s.HasBias != 0 ? _bias.Load(filter) : 0f;
        Store(filter, _first, acc0, bias);
        Store(filter, _second, acc1, bias);
    }

    private readonly void Store(int filter, OutputPixel pixel, float acc, float bias)
    {
        if (pixel.Inside == 0) return;
        int index = filter * (_s.OH * _s.OW) + pixel.Base;
        if (_s.HasBias != 0) acc += bias;
        if (_s.HasSampleBias != 0) acc += _sampleBias.Load(pixel.SampleBase + filter);
        if (_s.HasResidual != 0) acc += _residual.Load(index);
        _y.Store(index, acc);
    }

    /// <summary>
    /// Output pixel p of image n is at filter·OH·OW + <see cref="Base"/> (= n·(K − 1)·OH·OW + p); its sample bias at
    /// <see cref="SampleBase"/> + filter (= n·K + filter); <see cref="Inside"/> is 0 past the last image.
    /// </summary>
    private readonly record struct OutputPixel(int Base, int SampleBase, int Inside)
    {
        public static OutputPixel Of(Conv2dShape s, int pixel)
        {
            int pixels = s.OH * s.OW, n = pixel / pixels;
            return new(n * (s.K - 1) * pixels + pixel, n * s.K, pixel < s.N * pixels ? 1 : 0);
        }

        public OutputPixel Kept() => new(LoopInvariant.Keep(Base), LoopInvariant.Keep(SampleBase), LoopInvariant.Keep(Inside));
    }
}
