using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Models.Blocks;

/// <summary>Moves between the image layout (B, C, H, W) and the token layout (B, H·W, C) that attention works on.</summary>
public static class ImageLayout
{
    /// <summary>(B, C, H, W) → (B, H·W, C), a new tensor.</summary>
    public static Tensor ToTokens(Backend ops, Tensor image)
    {
        using var planes = image.Reshape(image.Shape[0], image.Shape[1], image.Shape[2] * image.Shape[3]);  // (B, C, H·W)
        return ops.Transpose(planes);
    }

    /// <summary>(B, H·W, C) → (B, C, H, W), a new tensor.</summary>
    public static Tensor ToImage(Backend ops, Tensor tokens, int height, int width)
    {
        var planes = ops.Transpose(tokens);                                                      // (B, C, H·W)
        return planes.Detach(new TensorShape(tokens.Shape[0], tokens.Shape[2], height, width));
    }
}
