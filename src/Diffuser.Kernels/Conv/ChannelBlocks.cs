namespace Diffuser.Kernels.Conv;

/// <summary>
/// The channel-blocked image layout [N, C/8, H·W, 8]: each pixel's channels in blocks of eight, one block of a pixel
/// 16 contiguous bytes in fp16. A group norm writes it for the convolution that follows (and only that convolution reads
/// it): a convolution stage's 32 channels of one tap are then four 16-byte rows of the pixel, copied straight to shared
/// memory (cp.async), where the dense [N, C, H, W] image takes 32 two-byte loads a plane apart.
/// </summary>
public static class ChannelBlocks
{
    /// <summary>Channels in a block.</summary>
    public const int Width = 8;

    /// <summary>Whether <paramref name="channels"/> split into whole blocks.</summary>
    public static bool Supports(int channels) => channels % Width == 0;

    /// <summary>The offset of element (n, c, pixel) of an image of <paramref name="channels"/> channels and <paramref name="plane"/> = H·W pixels.</summary>
    public static long Offset(int n, int c, int pixel, int channels, int plane) =>
        (((long)n * (channels / Width) + c / Width) * plane + pixel) * Width + c % Width;

    /// <summary>The managed reference: <paramref name="dense"/> [N, C, plane] in the channel-blocked layout.</summary>
    public static void FromDense(ReadOnlySpan<float> dense, Span<float> blocked, int n, int channels, int plane)
    {
        for (int b = 0; b < n; b++)
            for (int c = 0; c < channels; c++)
                for (int p = 0; p < plane; p++)
                    blocked[(int)Offset(b, c, p, channels, plane)] = dense[(b * channels + c) * plane + p];
    }
}
