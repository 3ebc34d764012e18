namespace Diffuser.Kernels.Resample;

/// <summary>Managed nearest-neighbour upsampling and 2×2 average pooling over planes of NCHW tensors.</summary>
public static class ResampleManaged
{
    /// <summary>torch's 'nearest': source index = floor(dst · in / out).</summary>
    public static void UpsampleNearest(ReadOnlyMemory<float> x, Memory<float> y, int planes, int h, int w, int outH, int outW) =>
        Parallel.For(0, planes, p =>
        {
            var xs = x.Span.Slice(p * h * w, h * w);
            var ys = y.Span.Slice(p * outH * outW, outH * outW);
            for (int oy = 0; oy < outH; oy++)
            {
                int iy = SourceIndex(oy, h, outH);
                for (int ox = 0; ox < outW; ox++)
                    ys[oy * outW + ox] = xs[iy * w + SourceIndex(ox, w, outW)];
            }
        });

    /// <summary>floor(dst · in / out) in exact integer arithmetic (equal to torch's float scale for these sizes).</summary>
    public static int SourceIndex(int dst, int inSize, int outSize) => Math.Min((int)((long)dst * inSize / outSize), inSize - 1);

    /// <summary>2×2 average pooling with stride 2 (floor of odd sizes).</summary>
    public static void AvgPool2x2(ReadOnlyMemory<float> x, Memory<float> y, int planes, int h, int w) =>
        Parallel.For(0, planes, p =>
        {
            int oh = h / 2, ow = w / 2;
            var xs = x.Span.Slice(p * h * w, h * w);
            var ys = y.Span.Slice(p * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int i = 2 * oy * w + 2 * ox;
                    ys[oy * ow + ox] = 0.25f * (xs[i] + xs[i + 1] + xs[i + w] + xs[i + w + 1]);
                }
        });
}
