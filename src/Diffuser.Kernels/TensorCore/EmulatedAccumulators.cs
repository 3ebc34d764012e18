using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>Where an emulated tensor-core instruction finds element (row, k) of an operand: a byte offset into shared memory (device code).</summary>
public interface IEmulatedOperand
{
    int Offset(int row, int k);
}

/// <summary>
/// A lane's 128 accumulators of the emulated tensor cores (device code, ILGPU's CPU accelerator): 4 staged m16 tiles
/// × 8 n8 tiles × 4 elements in mma.m16n8k16's C layout, the order the PTX's named registers have.
/// </summary>
public readonly struct EmulatedAccumulators
{
    private const int TileAccumulators = 4 * TensorCoreLayout.NTiles, Count = 4 * TileAccumulators;

    private readonly ArrayView<float> _values;

    private EmulatedAccumulators(ArrayView<float> values) => _values = values;

    public static EmulatedAccumulators Allocate() => new(LocalMemory.Allocate<float>(Count));

    public void Zero()
    {
        for (int i = 0; i < Count; i++) _values[i] = 0f;
    }

    /// <summary>
    /// A k16 step of staged m16 tile <paramref name="mTile"/>, whose rows start at tile row <paramref name="row0"/> and
    /// whose columns are column half <paramref name="columnHalf"/>'s: every element this lane holds, from A and B as
    /// <paramref name="a"/> and <paramref name="b"/> place them (B's rows are the tile's columns).
    /// </summary>
    public void Accumulate<TA, TB>(ArrayView<ushort> shared, int mTile, int row0, int columnHalf, TA a, TB b)
        where TA : struct, IEmulatedOperand where TB : struct, IEmulatedOperand
    {
        int lane = Warp.LaneIdx;
        for (int index = 0; index < TileAccumulators; index++)
        {
            int j = index / 4, e = index % 4;
            int row = row0 + TensorCoreLayout.AccumulatorRow(lane, e);
            int col = TensorCoreLayout.NTileColumn(columnHalf, j) + TensorCoreLayout.AccumulatorColumn(lane, e);
            float sum = 0f;
            for (int k = 0; k < 16; k++)
                sum += (float)Interop.IntAsFloat(shared[a.Offset(row, k) / 2]) * (float)Interop.IntAsFloat(shared[b.Offset(col, k) / 2]);
            _values[mTile * TileAccumulators + index] += sum;
        }
    }

    /// <summary>Stores m16 tile <paramref name="mTile"/> where the PTX's staging stores put it.</summary>
    public void Stage(ArrayView<float> staging, int mTile)
    {
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        for (int index = 0; index < TileAccumulators; index++)
        {
            int j = index / 4, e = index % 4;
            int at = warp * TensorCoreLayout.StagingFloats + TensorCoreLayout.AccumulatorRow(lane, e) * TensorCoreLayout.StagingPitch
                + 8 * j + TensorCoreLayout.AccumulatorColumn(lane, e);
            staging[at] = _values[mTile * TileAccumulators + index];
        }
    }
}
