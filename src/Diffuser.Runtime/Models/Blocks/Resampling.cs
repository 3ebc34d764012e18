using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Blocks;

/// <summary>
/// diffusers' Downsample2D with a conv: a 3×3 stride-2 conv with symmetric padding (the UNet's
/// downsample_padding 1), or, with padding 0, zero-padded by one pixel on the right and bottom first (the VAE encoder).
/// </summary>
public sealed class Downsample2D(WeightScope w, int channels, int padding)
{
    private readonly Conv2dLayer _conv = new(w.Scope("conv"), channels, channels, 3, 2,
        padding == 0 ? new Padding2d(0, 0, 1, 1) : Padding2d.Same(padding));

    /// <summary>(B, C, H, W) → (B, C, ⌈H/2⌉, ⌈W/2⌉) (the VAE's asymmetric padding gives ⌊H/2⌋).</summary>
    public Tensor Forward(Backend ops, Tensor x) => _conv.Forward(ops, x);
}

/// <summary>
/// diffusers' Upsample2D with a conv: nearest-neighbour 2× (or to an explicit size), then a 3×3 conv; 2× is one op,
/// the convolution reading its input upsampled.
/// </summary>
public sealed class Upsample2D(WeightScope w, int channels)
{
    private readonly Conv2dLayer _conv = new(w.Scope("conv"), channels, channels, 3, padding: 1);

    /// <param name="x">(B, C, H, W)</param>
    /// <param name="size">Output size (the UNet's skip connection size, which differs from 2× for odd sizes); null for 2×.</param>
    /// <returns>(B, C, 2H, 2W) or (B, C, size)</returns>
    public Tensor Forward(Backend ops, Tensor x, (int Height, int Width)? size = null)
    {
        var (height, width) = size ?? (2 * x.Shape[2], 2 * x.Shape[3]);
        return _conv.ForwardUpsampled(ops, x, height, width);
    }
}
