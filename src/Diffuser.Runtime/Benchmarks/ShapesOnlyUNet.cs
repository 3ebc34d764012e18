using Diffuser.Models.Blocks;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>
/// A model's UNet on a <see cref="ShapePass"/>, with its inputs (latents, and the text context in the UNet's dtype,
/// whose k|v projections the first step makes and later steps reuse): <see cref="Step"/> runs one forward whose ops validate their inputs and allocate their
/// results, computing and launching nothing (what a pipeline loaded in <c>dtype</c> runs: fp32 latents in).
/// </summary>
internal sealed class ShapesOnlyUNet : IDisposable
{
    private readonly UNet2DConditionModel _unet;
    private readonly Tensor _sample, _states;
    private readonly CrossAttentionContext _context;

    public ShapesOnlyUNet(string modelFolder, UNet2DConditionConfig config, int batch, int height, int width, int contextLength, DType dtype)
    {
        Pass = new ShapePass(modelFolder, "unet", ComponentFolder.DiffusersWeightsName);
        _unet = UNet2DConditionModel.FromWeights(config, Pass.Source, Pass.Meta, dtype);
        _sample = Pass.Meta.Allocate(new TensorShape(batch, config.InChannels, height, width));
        _states = Pass.Meta.Allocate(new TensorShape(batch, contextLength, _unet.CrossAttentionDim), dtype);
        _context = _unet.PrepareContext(_states);
    }

    public ShapePass Pass { get; }

    /// <summary>One forward: a generation's first step, whose cross-attention projects the text's k|v, or any later step.</summary>
    public Tensor Step() => _unet.Forward(_sample, 999f, _context);

    public void Dispose()
    {
        _context.Dispose();
        _states.Dispose();
        _sample.Dispose();
        _unet.Dispose();
        Pass.Dispose();
    }
}
