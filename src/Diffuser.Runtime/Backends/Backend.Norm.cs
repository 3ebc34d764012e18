using Diffuser.Kernels.Norm;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>
    /// Group norm over x [N, C, ...] with per-channel affine gamma, beta [C]; optionally SiLU after it. With
    /// <paramref name="forConvolution"/> (x [N, C, H, W], the result read only as the input of a <see cref="Conv2d"/>)
    /// the result is stored in the layout this backend's convolution reads fastest (<see cref="ConvolutionInputLayout"/>).
    /// </summary>
    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float epsilon, bool silu = false, bool forConvolution = false)
    {
        var dtype = RequireSameDType("GroupNorm", x, gamma, beta);
        if (x.Rank < 2) throw Shape("GroupNorm", $"input must be [N, C, ...], got {x.Shape}");
        int c = x.Shape[1];
        if (groups < 1 || c % groups != 0) throw Shape("GroupNorm", $"{c} channels do not split into {groups} groups");
        RequireShape("GroupNorm gamma", gamma, c);
        RequireShape("GroupNorm beta", beta, c);
        var s = new GroupNormShape(x.Shape[0], c, (int)x.Shape.Product(2, x.Rank), groups, epsilon, silu ? 1 : 0);
        var y = Allocate(x.Shape, dtype, forConvolution && x.Rank == 4 ? ConvolutionInputLayout(s, dtype) : TensorLayout.Dense);
        using (Profile("group_norm", s.Flops, y, x, gamma, beta)) GroupNormCore(x, gamma, beta, y, s);
        return y;
    }

    /// <summary>Layer norm over the last dimension, gamma and beta [features].</summary>
    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon)
    {
        var dtype = RequireSameDType("LayerNorm", x, gamma, beta);
        if (x.Rank < 1) throw Shape("LayerNorm", "input is a scalar");
        int features = x.Shape[-1];
        RequireShape("LayerNorm gamma", gamma, features);
        RequireShape("LayerNorm beta", beta, features);
        var y = Allocate(x.Shape, dtype);
        var s = new LayerNormShape((int)(x.Length / features), features, epsilon);
        using (Profile("layer_norm", s.Flops, y, x, gamma, beta)) LayerNormCore(x, gamma, beta, y, s);
        return y;
    }

    /// <summary>The layout a group norm of <paramref name="shape"/> (an image's) stores for a convolution's input: dense unless the backend's convolution reads another faster.</summary>
    protected virtual TensorLayout ConvolutionInputLayout(GroupNormShape shape, DType dtype) => TensorLayout.Dense;

    protected abstract void GroupNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, GroupNormShape shape);
    protected abstract void LayerNormCore(Tensor x, Tensor gamma, Tensor beta, Tensor y, LayerNormShape shape);
}
