using Diffuser.Kernels.Launch;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Conv;

/// <summary>y = acc + bias[filter] + sampleBias[filter, n] + residual, each term when the shape has it.</summary>
public struct ConvEpilogue<T> : ITileEpilogue where T : struct, IElementView<T>
{
    private readonly T _y, _bias, _sampleBias, _residual;
    private readonly Conv2dShape _s;
    private int _pixel;
    private OutputPixel _chunk;

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

    public void BindChunk(int pixel)
    {
        _pixel = pixel;
        // Kept where it is computed: ILGPU would move the division into the tensor-core store's loop.
        if (_s.ChunkedStores != 0) _chunk = OutputPixel.Of(_s, pixel).Kept();
    }

    /// <summary>
    /// With chunked stores, the filter's bias, its sample's bias and the residual's eight (else none: each pixel's are
    /// read as it is stored). Filters past the last read the last one's, and pixels past the last image the first
    /// image's (<see cref="StoreChunk"/> stores nothing there): a test would be a branch, and ptxas keeps a branch's
    /// load with the conversion that waits for it, so the next row's load would wait.
    /// </summary>
    public readonly ChunkInputs LoadChunk(int filter)
    {
        var inputs = default(ChunkInputs);
        if (_s.ChunkedStores == 0) return inputs;
        int last = XMath.Min(filter, _s.K - 1);
        if (_s.HasBias != 0) inputs.Bias = _bias.Load(last);
        if (_s.HasSampleBias != 0) inputs.SecondBias = _sampleBias.Load(last * _s.N + _chunk.Sample);
        if (_s.HasResidual != 0) inputs.Residual = _residual.LoadEight(last * (_s.OH * _s.OW) + _chunk.Base);
        return inputs;
    }

    /// <summary>With chunked stores the 8 pixels lie in one image (its plane is a multiple of 8), else each is found on its own.</summary>
    public readonly void StoreChunk(int filter, in Row8 acc, in ChunkInputs inputs)
    {
        if (filter >= _s.K) return;
        if (_s.ChunkedStores == 0)
        {
            Store(filter, _pixel, acc.V0); Store(filter, _pixel + 1, acc.V1); Store(filter, _pixel + 2, acc.V2); Store(filter, _pixel + 3, acc.V3);
            Store(filter, _pixel + 4, acc.V4); Store(filter, _pixel + 5, acc.V5); Store(filter, _pixel + 6, acc.V6); Store(filter, _pixel + 7, acc.V7);
            return;
        }
        if (_chunk.Inside == 0) return;
        var v = acc;
        if (_s.HasBias != 0) v = v.Plus(inputs.Bias);
        if (_s.HasSampleBias != 0) v = v.Plus(inputs.SecondBias);
        if (_s.HasResidual != 0) v = v.Plus(inputs.Residual);
        _y.StoreEight(filter * (_s.OH * _s.OW) + _chunk.Base, v);
    }

    private readonly void Store(int filter, OutputPixel pixel, float acc, float bias)
    {
        if (pixel.Inside == 0) return;
        int index = filter * (_s.OH * _s.OW) + pixel.Base;
        if (_s.HasBias != 0) acc += bias;
        if (_s.HasSampleBias != 0) acc += _sampleBias.Load(filter * _s.N + pixel.Sample);
        if (_s.HasResidual != 0) acc += _residual.Load(index);
        _y.Store(index, acc);
    }

    /// <summary>
    /// Output pixel p of image n is at filter·OH·OW + <see cref="Base"/> (= n·(K − 1)·OH·OW + p); <see cref="Sample"/>
    /// is n; <see cref="Inside"/> is 0 past the last image, where Base and Sample are pixel 0's.
    /// </summary>
    private readonly record struct OutputPixel(int Base, int Sample, int Inside)
    {
        public static OutputPixel Of(Conv2dShape s, int pixel)
        {
            int pixels = s.OH * s.OW, inside = pixel < s.N * pixels ? 1 : 0;
            pixel *= inside;
            int n = pixel / pixels;
            return new(n * (s.K - 1) * pixels + pixel, n, inside);
        }

        public OutputPixel Kept() => new(LoopInvariant.Keep(Base), LoopInvariant.Keep(Sample), LoopInvariant.Keep(Inside));
    }
}
