using System.Buffers;
using Diffuser.Kernels.Gemm;

namespace Diffuser.Kernels.Conv;

/// <summary>
/// Managed convolution as a tiled im2col + dot products: for a tile of output pixels it gathers each pixel's
/// C·R·S input patch into a contiguous row, then dots every filter with it. Tiles run in parallel and bound the
/// scratch memory, so a 512² VAE layer needs no giant im2col matrix.
/// </summary>
public static class Conv2dManaged
{
    private const int PixelTile = 64;

    /// <summary>y = conv(x, weight) + bias + sampleBias[k, n] + residual, each term when the shape has it.</summary>
    public static void Run(ReadOnlyMemory<float> x, ReadOnlyMemory<float> weight, ReadOnlyMemory<float> bias, ReadOnlyMemory<float> sampleBias,
        ReadOnlyMemory<float> residual, Memory<float> output, Conv2dShape s)
    {
        int pixels = s.OH * s.OW;
        int tilesPerImage = (pixels + PixelTile - 1) / PixelTile;
        int len = s.ReductionLength;

        Parallel.For(0, s.N * tilesPerImage, job =>
        {
            int n = job / tilesPerImage;
            int p0 = job % tilesPerImage * PixelTile;
            int count = Math.Min(PixelTile, pixels - p0);
            float[] patches = ArrayPool<float>.Shared.Rent(count * len);
            try
            {
                for (int i = 0; i < count; i++)
                    GatherPatch(x.Span, patches.AsSpan(i * len, len), n, (p0 + i) / s.OW, (p0 + i) % s.OW, s);
                var w = weight.Span;
                var outSpan = output.Span;
                for (int k = 0; k < s.K; k++)
                {
                    var filter = w.Slice(k * len, len);
                    float b = s.HasBias != 0 ? bias.Span[k] : 0f;
                    float sb = s.HasSampleBias != 0 ? sampleBias.Span[k * s.N + n] : 0f;
                    int outBase = (n * s.K + k) * pixels + p0;
                    for (int i = 0; i < count; i++)
                    {
                        float v = GemmManaged.Dot(filter, new ReadOnlySpan<float>(patches, i * len, len)) + b;
                        if (s.HasSampleBias != 0) v += sb;
                        if (s.HasResidual != 0) v += residual.Span[outBase + i];
                        outSpan[outBase + i] = v;
                    }
                }
            }
            finally { ArrayPool<float>.Shared.Return(patches); }
        });
    }

    /// <summary>The input patch under output pixel (oy, ox), in weight order (c, r, s); zero outside the image (x upsampled when the shape says so).</summary>
    private static void GatherPatch(ReadOnlySpan<float> x, Span<float> patch, int n, int oy, int ox, in Conv2dShape s)
    {
        int idx = 0;
        for (int c = 0; c < s.C; c++)
        {
            int plane = (n * s.C + c) * s.SourcePlane;
            for (int r = 0; r < s.R; r++)
            {
                int iy = oy * s.Stride - s.PadTop + r;
                bool rowInside = iy >= 0 && iy < s.H;
                for (int q = 0; q < s.S; q++)
                {
                    int ix = ox * s.Stride - s.PadLeft + q;
                    patch[idx++] = rowInside && ix >= 0 && ix < s.W ? x[plane + (iy >> s.Upsample) * s.SourceWidth + (ix >> s.Upsample)] : 0f;
                }
            }
        }
    }
}
