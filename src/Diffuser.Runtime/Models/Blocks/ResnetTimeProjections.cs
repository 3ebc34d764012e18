using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Blocks;

/// <summary>
/// The time_emb_proj layers of a UNet's resnets as one product. Each resnet registers its projection while the model
/// is built (<see cref="Add"/>); <see cref="Load"/> joins their weights into one [ΣC, T] matrix and their biases into
/// one [ΣC] vector; a step then computes every projection of silu(temb) with one GEMM (SD 1.5: one instead of 22):
/// [ΣC, B] = W·silu(temb)ᵀ + b, filter-major, so that a resnet's projection is a contiguous row slice, the [C, B] bias
/// per filter and sample its conv1 adds. Each entry is the same dot product the resnet's own Linear computed.
/// </summary>
public sealed class ResnetTimeProjections
{
    private readonly List<(WeightScope Scope, int Rows)> _parts = [];
    private Tensor? _weight, _bias;

    /// <summary>Registers the projection at <paramref name="scope"/> ([channels, T] weight, [channels] bias); returns its first row of the product.</summary>
    public int Add(WeightScope scope, int channels)
    {
        if (_weight is not null) throw new InvalidOperationException("The resnets' time projections are loaded already.");
        int row = _parts.Sum(p => p.Rows);
        _parts.Add((scope, channels));
        return row;
    }

    /// <summary>Joins the registered projections, once every resnet has registered.</summary>
    /// <param name="timeEmbeddingChannels">T, the width of the time embedding.</param>
    public void Load(int timeEmbeddingChannels)
    {
        _weight = WeightScope.Join(_parts, "weight", timeEmbeddingChannels);
        _bias = WeightScope.Join(_parts, "bias");
    }

    /// <summary>Every registered projection of <paramref name="timeEmbeddingAct"/>, silu(temb) (B, T): (ΣC, B).</summary>
    public Tensor Forward(Backend ops, Tensor timeEmbeddingAct)
    {
        var weight = _weight ?? throw new InvalidOperationException("The resnets' time projections are not loaded.");
        using var act = timeEmbeddingAct.Reshape(1, timeEmbeddingAct.Shape[0], timeEmbeddingAct.Shape[1]);
        var y = ops.Gemm(weight, act, transB: true, bias: _bias, biasPerRow: true);                     // (1, ΣC, B)
        return y.Detach(new TensorShape(y.Shape[1], y.Shape[2]));
    }
}
