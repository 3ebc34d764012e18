using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// A warp's 128 fp32 accumulators (4 staged m16 tiles × 8 n8 tiles), the tensor-core instructions that update them and
/// the shared layout those instructions read (device code). Every lane of the warp (of the warp group, for wgmma) must
/// make every call (warp-synchronous instructions).
/// </summary>
public interface IWarpMma
{
    /// <summary>Once, first in the kernel (the PTX declares its registers here).</summary>
    void Declare();

    void Zero();

    /// <summary>m16 tiles the warp computes and stages: 4, 1 where only a tile's first 16 rows exist (<see cref="FirstRowsMma{TM}"/>).</summary>
    int MTiles { get; }

    /// <summary>Whether the instructions are Hopper's warp-group ones, which only PTX for sm_90a may hold.</summary>
    bool WarpGroup { get; }

    /// <summary>
    /// How many stages ahead of the tensor cores the copies into shared memory run (of <see cref="TensorCoreLayout.Stages"/>):
    /// 2 where a stage's steps are done when the warp passes the next barrier (mma.sync: one stage is read, two are
    /// filled); 1 where they may still run then (<see cref="Drain"/>: the previous stage is still read).
    /// </summary>
    int StagesAhead { get; }

    /// <summary>
    /// Whether this warp's rows reach into a product of <paramref name="rows"/> rows from tile row <paramref name="row0"/>
    /// on past their first tile's: else <see cref="StepPast"/> replaces <see cref="Step"/> (warp-uniform).
    /// </summary>
    bool Inside(int row0, int rows);

    /// <summary>One k16 step of the warp's tile from the operand tiles of the shared stage at byte <paramref name="stageBytes"/>.</summary>
    void Step(ArrayView<ushort> shared, int stageBytes, int kStep);

    /// <summary>As <see cref="Step"/>, for the first rows alone: a warp's m16 tile 0, a warp group's first 64 rows (the other accumulators stay as they are).</summary>
    void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep);

    /// <summary><see cref="Step"/> where not <see cref="Inside"/>: nothing for a warp, whose rows all lie past the product; a warp group's first 64 rows.</summary>
    void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep);

    /// <summary>Makes this thread's stores and copies into a stage visible to the instructions that read it next (before the barrier).</summary>
    void PublishStores();

    /// <summary>Waits for the steps still running, after the last stage: then the accumulators may be read and the stages reused.</summary>
    void Drain();

    /// <summary>Tile row of the first row of this warp's staged m16 tile <paramref name="mTile"/>.</summary>
    int TileRow(int mTile);

    /// <summary>The column half of staged m16 tile <paramref name="mTile"/>: its columns are <see cref="TensorCoreLayout.StagedColumn"/>'s.</summary>
    int ColumnHalf(int mTile);

    /// <summary>The accumulators of m16 tile <paramref name="mTile"/> into the warp's staging area (row-major 16×64 floats).</summary>
    void Stage(ArrayView<float> staging, int mTile);
}

/// <summary>
/// The tensor cores (sm_80 and later): ldmatrix.x4 and mma.sync.m16n8k16 f16 × f16 → f32 as inline PTX on named
/// registers, so no accumulator passes through an ILGPU variable (which ILGPU would keep in local memory).
/// </summary>
public struct PtxWarpMma : IWarpMma
{
    // The lane's ldmatrix byte offsets for stage 0, k-step 0 (a k-step is KStepBytes on, a stage StageBytes), its
    // staging offset, and its warp's first row and column half: computed once, not in the main or the store loop
    // (ptxas turns a division even by a constant into ~20 instructions).
    private int _a, _b, _staging, _warpRow, _columnHalf;

    public void Declare()
    {
        CudaAsm.Emit(TensorCorePtx.Declare);
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        _a = LoopInvariant.Keep(TensorCoreLayout.AStepAddress(warp, lane, 0, 0));
        _b = LoopInvariant.Keep(TensorCoreLayout.BStepAddress(warp, lane, 0, 0));
        _staging = LoopInvariant.Keep(TensorCoreLayout.StagingLaneOffset(warp, lane));
        _warpRow = LoopInvariant.Keep(TensorCoreLayout.TileRow(warp, 0));
        _columnHalf = LoopInvariant.Keep(TensorCoreLayout.WarpN(warp));
    }

    public readonly void Zero() => CudaAsm.Emit(TensorCorePtx.Zero);

    public readonly int MTiles => 4;

    public readonly bool WarpGroup => false;

    public readonly int StagesAhead => 2;

    public readonly bool Inside(int row0, int rows) => row0 + _warpRow < rows;

    public readonly void Step(ArrayView<ushort> shared, int stageBytes, int kStep) => CudaAsm.Emit(TensorCorePtx.Step, _a + Offset(stageBytes, kStep), _b + Offset(stageBytes, kStep));

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep) =>
        CudaAsm.Emit(TensorCorePtx.StepFirstTile, _a + Offset(stageBytes, kStep), _b + Offset(stageBytes, kStep));

    public readonly void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep) { }

    public readonly void PublishStores() { }

    public readonly void Drain() { }

    private static int Offset(int stageBytes, int kStep) => stageBytes + kStep * TensorCoreLayout.KStepBytes;

    public readonly int TileRow(int mTile) => _warpRow + 16 * mTile;

    public readonly int ColumnHalf(int mTile) => _columnHalf;

    public readonly void Stage(ArrayView<float> staging, int mTile) => PtxStaging.Stage(_staging, mTile);
}

/// <summary>The inline PTX that moves m16 tile i's accumulators to the staging area (mma.sync and wgmma hold them alike).</summary>
internal static class PtxStaging
{
    /// <param name="lane">The lane's staging byte offset (<see cref="TensorCoreLayout.StagingLaneOffset"/>).</param>
    public static void Stage(int lane, int mTile)
    {
        if (mTile == 0) CudaAsm.Emit(TensorCorePtx.Stage0, lane);
        else if (mTile == 1) CudaAsm.Emit(TensorCorePtx.Stage1, lane);
        else if (mTile == 2) CudaAsm.Emit(TensorCorePtx.Stage2, lane);
        else CudaAsm.Emit(TensorCorePtx.Stage3, lane);
    }
}

/// <summary>
/// What the tensor cores compute, element by element, for devices without them: each lane accumulates the very
/// elements <see cref="TensorCoreLayout"/> says mma.m16n8k16 leaves in it, and stages them where the PTX stores them.
/// ILGPU's CPU accelerator runs the whole tensor-core kernel with it, so every address of the kernel is tested there.
/// </summary>
public struct EmulatedWarpMma : IWarpMma
{
    private EmulatedAccumulators _accumulators;

    public void Declare() => _accumulators = EmulatedAccumulators.Allocate();

    public readonly void Zero() => _accumulators.Zero();

    public readonly int MTiles => 4;

    public readonly bool WarpGroup => false;

    public readonly int StagesAhead => 2;

    public readonly bool Inside(int row0, int rows) => row0 + TileRow(0) < rows;

    public readonly void Step(ArrayView<ushort> shared, int stageBytes, int kStep) => Accumulate(shared, stageBytes, kStep, MTiles);

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep) => Accumulate(shared, stageBytes, kStep, 1);

    public readonly void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep) { }

    public readonly void PublishStores() { }

    public readonly void Drain() { }

    /// <summary>A k16 step of m16 tiles 0 … <paramref name="mTiles"/> − 1, reading the elements ldmatrix hands over.</summary>
    private readonly void Accumulate(ArrayView<ushort> shared, int stageBytes, int kStep, int mTiles)
    {
        int a = stageBytes + kStep * TensorCoreLayout.KStepBytes, b = a + TensorCoreLayout.TileBytes;
        for (int i = 0; i < mTiles; i++)
            _accumulators.Accumulate(shared, i, TileRow(i), ColumnHalf(i), new LaidOutOperand(a), new LaidOutOperand(b));
    }

    public readonly int TileRow(int mTile) => TensorCoreLayout.TileRow(Warp.WarpIdx, mTile);

    public readonly int ColumnHalf(int mTile) => TensorCoreLayout.WarpN(Warp.WarpIdx);

    public readonly void Stage(ArrayView<float> staging, int mTile) => _accumulators.Stage(staging, mTile);

    /// <summary>An operand tile as ldmatrix reads it: core matrices placed by <see cref="TensorCoreLayout.Slot"/> from byte <paramref name="start"/>.</summary>
    private readonly struct LaidOutOperand(int start) : IEmulatedOperand
    {
        public int Offset(int row, int k) => start + 16 * TensorCoreLayout.Slot(row, k >> 3) + (k & 7) * 2;
    }
}
