using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>Nearest-neighbour resize of x [N, C, H, W] to [N, C, outH, outW] (torch's mode='nearest').</summary>
    public Tensor UpsampleNearest(Tensor x, int outHeight, int outWidth)
    {
        var dtype = RequireSameDType("UpsampleNearest", x);
        if (x.Rank != 4) throw Shape("UpsampleNearest", $"input must be [N, C, H, W], got {x.Shape}");
        if (outHeight < 1 || outWidth < 1) throw Shape("UpsampleNearest", $"output size {outHeight}×{outWidth} is empty");
        var y = Allocate(new TensorShape(x.Shape[0], x.Shape[1], outHeight, outWidth), dtype);
        using (Profile("upsample", 0, y, x)) UpsampleNearestCore(x, y, x.Shape[0] * x.Shape[1], x.Shape[2], x.Shape[3], outHeight, outWidth);
        return y;
    }

    /// <summary>2×2 average pooling with stride 2 of x [N, C, H, W].</summary>
    public Tensor AvgPool2x2(Tensor x)
    {
        var dtype = RequireSameDType("AvgPool2x2", x);
        if (x.Rank != 4 || x.Shape[2] < 2 || x.Shape[3] < 2) throw Shape("AvgPool2x2", $"input must be [N, C, H≥2, W≥2], got {x.Shape}");
        var y = Allocate(new TensorShape(x.Shape[0], x.Shape[1], x.Shape[2] / 2, x.Shape[3] / 2), dtype);
        using (Profile("avg_pool", x.Length, y, x)) AvgPool2x2Core(x, y, x.Shape[0] * x.Shape[1], x.Shape[2], x.Shape[3]);
        return y;
    }

    protected abstract void UpsampleNearestCore(Tensor x, Tensor y, int planes, int height, int width, int outHeight, int outWidth);
    protected abstract void AvgPool2x2Core(Tensor x, Tensor y, int planes, int height, int width);
}
