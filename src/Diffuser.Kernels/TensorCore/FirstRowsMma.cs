using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// <typeparamref name="TM"/> cut to a tile's first <see cref="Rows"/> rows, for products that have no more (the
/// convolutions with 3 or 4 filters that end the UNet and the VAE decoder, whose 128-row tiles are otherwise 97% zero
/// rows): the warps of rows 64–127 skip the tensor cores, the others run their m16 tile 0 alone, 8 mma a k16 step
/// instead of 32 for every warp. The operand loads are the full kernel's (the filter rows past the matrix read nothing).
/// </summary>
public struct FirstRowsMma<TM> : IWarpMma where TM : struct, IWarpMma
{
    /// <summary>The rows this warp tile computes: one m16 tile.</summary>
    public const int Rows = 16;

    private TM _inner;
    private bool _computes;

    public void Declare()
    {
        var inner = default(TM);
        inner.Declare();
        _inner = inner;
        _computes = LoopInvariant.Keep(TensorCoreLayout.WarpM(Warp.WarpIdx)) == 0;
    }

    public readonly void Zero() => _inner.Zero();

    public readonly int MTiles => 1;

    /// <summary>Warp-uniform: a warp either runs the whole step or skips it, as its warp-synchronous instructions require.</summary>
    public readonly void Step(ArrayView<ushort> shared, int stage, int kStep)
    {
        if (_computes) _inner.StepFirstTile(shared, stage, kStep);
    }

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stage, int kStep) => Step(shared, stage, kStep);

    public readonly void Stage(ArrayView<float> staging, int mTile) => _inner.Stage(staging, mTile);
}
