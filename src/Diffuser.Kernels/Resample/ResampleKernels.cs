using Diffuser.Kernels.Launch;

namespace Diffuser.Kernels.Resample;

/// <summary>Nearest-neighbour upsampling and 2×2 average pooling over NCHW planes (device code, generic over the storage), one output per step.</summary>
public static class ResampleKernels
{
    public static void UpsampleNearest<T>(T x, T y, int count, int h, int w, int outH, int outW) where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int plane = i / (outH * outW), p = i - plane * outH * outW;
            int oy = p / outW, ox = p - oy * outW;
            y.Store(i, x.Load((plane * h + SourceIndex(oy, h, outH)) * w + SourceIndex(ox, w, outW)));
        }
    }

    /// <summary>torch's nearest source index, floor(dst · in / out), as <see cref="ResampleManaged.SourceIndex"/>.</summary>
    private static int SourceIndex(int dst, int inSize, int outSize)
    {
        int s = (int)((long)dst * inSize / outSize);
        return s < inSize ? s : inSize - 1;
    }

    public static void AvgPool2x2<T>(T x, T y, int count, int h, int w) where T : struct, IElementView<T>
    {
        int oh = h / 2, ow = w / 2;
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int plane = i / (oh * ow), p = i - plane * oh * ow;
            int oy = p / ow, ox = p - oy * ow;
            int s = (plane * h + 2 * oy) * w + 2 * ox;
            y.Store(i, 0.25f * (x.Load(s) + x.Load(s + 1) + x.Load(s + w) + x.Load(s + w + 1)));
        }
    }
}
