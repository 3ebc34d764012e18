namespace Diffuser.Kernels.Conv;

/// <summary>
/// Where one output pixel's receptive field starts in x [N, C, H, W] (device code): the start of its image in x as
/// stored, and the input row and column of filter tap (0, 0) (of the upsampled image when the shape reads x
/// upsampled), outside the image where the convolution pads. Pixels past the batch
/// (a tile's tail) are not <see cref="Valid"/>.
/// </summary>
public readonly record struct PatchWindow(int ImageBase, int Row0, int Column0, bool Valid)
{
    public static PatchWindow Of(Conv2dShape s, int pixel)
    {
        int pixels = s.OH * s.OW, n = pixel / pixels, p = pixel - n * pixels, oy = p / s.OW, ox = p - oy * s.OW;
        return new PatchWindow(n * s.C * s.SourcePlane, oy * s.Stride - s.PadTop, ox * s.Stride - s.PadLeft, pixel < s.N * pixels);
    }
}
