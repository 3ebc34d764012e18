using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' VaeImageProcessor conversions between 8-bit RGB pixels and the VAE's image tensors:
/// pixels/255·2−1 on the way in, (x/2 + 0.5) clamped to [0, 1] and round(·255) on the way out.
/// </summary>
public static class VaeImageProcessor
{
    /// <summary>8-bit RGB, row-major (H, W, 3) → (1, 3, H, W) in [−1, 1], computed in fp32 as diffusers does.</summary>
    public static Tensor Preprocess(Backend ops, ReadOnlySpan<byte> rgb, int height, int width)
    {
        long plane = (long)height * width;
        if (height < 1 || width < 1 || rgb.Length != plane * 3)
            throw new DiffuserException($"Image of {rgb.Length} bytes is not {height}×{width} RGB.");
        var values = new float[rgb.Length];
        for (long p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                values[c * plane + p] = 2f * (rgb[(int)(p * 3 + c)] / 255f) - 1f;
        return ops.FromHost(values, new TensorShape(1, 3, height, width));
    }

    /// <summary>Decoder output (B, C, H, W) in about [−1, 1] → (x/2 + 0.5) clamped to [0, 1].</summary>
    public static Tensor ToUnitRange(Backend ops, Tensor image) => ops.Affine(image, 0.5f, 0.5f, 0f, 1f);

    /// <summary>
    /// A [0, 1] image (B, C, H, W) → 8-bit pixels (B, H, W, C), round(v·255) with ties to even (numpy's rounding).
    /// </summary>
    public static byte[] ToBytesNhwc(Tensor unitImage)
    {
        if (unitImage.Rank != 4) throw new DiffuserException($"Expected an image (B, C, H, W), got {unitImage.Shape}.");
        int b = unitImage.Shape[0], c = unitImage.Shape[1];
        long plane = (long)unitImage.Shape[2] * unitImage.Shape[3];
        var values = unitImage.ToArray();
        var bytes = new byte[values.Length];
        for (int n = 0; n < b; n++)
            for (long p = 0; p < plane; p++)
                for (int ch = 0; ch < c; ch++)
                {
                    float v = values[(n * c + ch) * plane + p] * 255f;
                    bytes[(n * plane + p) * c + ch] = (byte)Math.Clamp(MathF.Round(v, MidpointRounding.ToEven), 0f, 255f);
                }
        return bytes;
    }
}
