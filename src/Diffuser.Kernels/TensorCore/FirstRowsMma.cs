using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// <typeparamref name="TM"/> cut to a tile's first <see cref="Rows"/> rows, for products that have no more (the
/// convolutions with 3 or 4 filters that end the UNet and the VAE decoder, whose 128-row tiles are otherwise 97% zero
/// rows): the warps of rows 0–63 run their m16 tile 0 alone, 8 mma a k16 step instead of 32 (the warps of rows 64–127
/// skip the tensor cores, as every warp past a product's rows does: <see cref="TensorCoreMatmul.Accumulate"/>). The
/// operand loads are the full kernel's (the filter rows past the matrix read nothing). For warps only (a warp group's
/// first tiles are 64 rows: <see cref="PtxWarpMma"/> serves such products beside <see cref="WarpGroupMma"/>).
/// </summary>
public struct FirstRowsMma<TM> : IWarpMma where TM : struct, IWarpMma
{
    /// <summary>The rows this warp tile computes: one m16 tile.</summary>
    public const int Rows = 16;

    private TM _inner;

    public void Declare()
    {
        var inner = default(TM);
        inner.Declare();
        _inner = inner;
    }

    public readonly void Zero() => _inner.Zero();

    public readonly int MTiles => 1;

    public readonly bool WarpGroup => _inner.WarpGroup;

    public readonly int StagesAhead => _inner.StagesAhead;

    public readonly bool Inside(int row0, int rows) => _inner.Inside(row0, rows);

    public readonly void Step(ArrayView<ushort> shared, int stageBytes, int kStep) => _inner.StepFirstTile(shared, stageBytes, kStep);

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep) => Step(shared, stageBytes, kStep);

    public readonly void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep) => _inner.StepPast(shared, stageBytes, kStep);

    public readonly void PublishStores() => _inner.PublishStores();

    public readonly void Drain() => _inner.Drain();

    public readonly int TileRow(int mTile) => _inner.TileRow(mTile);

    public readonly int ColumnHalf(int mTile) => _inner.ColumnHalf(mTile);

    public readonly void Stage(ArrayView<float> staging, int mTile) => _inner.Stage(staging, mTile);
}
