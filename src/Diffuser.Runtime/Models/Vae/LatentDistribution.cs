using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Models.Vae;

/// <summary>
/// diffusers' DiagonalGaussianDistribution over VAE latents: moments = [mean | logvar] along channels,
/// logvar clamped to [−30, 20], std = exp(logvar / 2). Owns its tensors.
/// </summary>
public sealed class LatentDistribution : IDisposable
{
    private readonly Backend _ops;

    /// <param name="moments">(B, 2·C, h, w), the caller's.</param>
    public LatentDistribution(Backend ops, Tensor moments)
    {
        _ops = ops;
        int c = moments.Shape[1] / 2;
        Mean = ops.Narrow(moments, 1, 0, c);                                  // (B, C, h, w)
        using (var raw = ops.Narrow(moments, 1, c, c))
            LogVar = ops.Affine(raw, 1f, 0f, -30f, 20f);
        using var halfLogVar = ops.Affine(LogVar, 0.5f);
        Std = ops.Activate(halfLogVar, Activation.Exp);
    }

    public Tensor Mean { get; }
    public Tensor LogVar { get; }
    public Tensor Std { get; }

    /// <summary>mean + std·noise, with the noise (B, C, h, w) drawn by the caller's generator.</summary>
    public Tensor Sample(Tensor noise)
    {
        if (!noise.Shape.Equals(Mean.Shape)) throw new DiffuserException($"VAE posterior: noise {noise.Shape} must match the latents {Mean.Shape}.");
        using var scaled = _ops.Multiply(Std, noise);
        return _ops.Add(Mean, scaled);
    }

    /// <summary>The most likely latents: a copy of the mean.</summary>
    public Tensor Mode() => _ops.Clone(Mean);

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
