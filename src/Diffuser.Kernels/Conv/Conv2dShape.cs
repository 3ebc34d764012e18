namespace Diffuser.Kernels.Conv;

/// <summary>
/// A 2-D convolution, NCHW: x [N, C, H, W], weight [K, C, R, S], out [N, K, OH, OW].
/// Padding may differ per side (the VAE encoder pads only right and bottom); OH and OW include it.
/// With <see cref="Upsample"/> the convolution reads x through a nearest-neighbour 2× upsample: x is then
/// [N, C, H/2, W/2] (<see cref="SourceHeight"/>, <see cref="SourceWidth"/>) and H, W are the upsampled size.
/// </summary>
public readonly record struct Conv2dShape(
    int N, int C, int H, int W,
    int K, int R, int S,
    int Stride, int PadTop, int PadLeft,
    int OH, int OW,
    int HasBias, int HasResidual)
{
    public static Conv2dShape Create(int n, int c, int h, int w, int k, int r, int s, int stride,
        int padTop, int padLeft, int padBottom, int padRight, bool bias, bool residual)
    {
        int oh = (h + padTop + padBottom - r) / stride + 1;
        int ow = (w + padLeft + padRight - s) / stride + 1;
        return new Conv2dShape(n, c, h, w, k, r, s, stride, padTop, padLeft, oh, ow, bias ? 1 : 0, residual ? 1 : 0);
    }

    /// <summary>1: a bias per filter and sample, [K, N], is added too (the UNet's time embedding, fused into conv1).</summary>
    public int HasSampleBias { get; init; }

    /// <summary>
    /// 1: OH·OW is a multiple of 8 and the output and the residual start 16-byte aligned (the caller knows where they are), so the tensor-core
    /// store writes 8 fp16 columns with one 16-byte store.
    /// </summary>
    public int ChunkedStores { get; init; }

    /// <summary>Bias, sample bias and residual as bits 0, 1, 2, chunked stores bit 3: what a kernel may specialise its epilogue on.</summary>
    public int EpilogueFlags => HasBias | HasSampleBias << 1 | HasResidual << 2 | ChunkedStores << 3;

    /// <summary>This shape with <paramref name="flags"/> (<see cref="EpilogueFlags"/>; a kernel constant, so the epilogue's tests fold away).</summary>
    public Conv2dShape WithEpilogueFlags(int flags) => this with { HasBias = flags & 1, HasSampleBias = flags >> 1 & 1, HasResidual = flags >> 2 & 1, ChunkedStores = flags >> 3 & 1 };

    /// <summary>
    /// 1: x is upsampled 2× by nearest neighbour on the fly (diffusers' Upsample2D: interpolate, then this
    /// convolution), so that the upsampled image, 4× the input, is never written: input pixel (y, x) reads x[y/2, x/2].
    /// </summary>
    public int Upsample { get; init; }

    /// <summary>Rows of x as stored: H, or H/2 when it is read upsampled.</summary>
    public int SourceHeight => H >> Upsample;

    /// <summary>Columns of x as stored: W, or W/2 when it is read upsampled.</summary>
    public int SourceWidth => W >> Upsample;

    /// <summary>Elements of one channel of x as stored.</summary>
    public int SourcePlane => SourceHeight * SourceWidth;

    /// <summary>Length of one implicit-GEMM row: C·R·S.</summary>
    public int ReductionLength => C * R * S;
    public long OutputLength => (long)N * K * OH * OW;
    public long Flops => 2L * N * K * OH * OW * ReductionLength;
}
