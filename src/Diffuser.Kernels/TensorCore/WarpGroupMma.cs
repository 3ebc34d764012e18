using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// Hopper's warp-group tensor cores (wgmma.mma_async, sm_90a only): the group's 4 warps issue two
/// wgmma.m64n128k16 f16 × f16 → f32 per k16 step, one per 64-row half of the tile, each reading its operands from
/// shared memory through a matrix descriptor (<see cref="WarpGroupLayout"/>), so no ldmatrix passes through the
/// registers. The accumulators are <see cref="PtxWarpMma"/>'s named registers, staged by the same PTX. Each k16 step's
/// wgmma are committed as one group; the main loop cycles through <see cref="TensorCoreLayout.Stages"/> stages, and a
/// stage's last step waits only for the previous stage's groups, so the tensor cores still work on this stage while
/// the group passes the barrier and starts the next (the stage being refilled then is the one before the previous:
/// copies run one stage ahead, <see cref="StagesAhead"/>).
/// </summary>
public struct WarpGroupMma : IWarpMma
{
    private int _staging, _warpRow;

    public void Declare()
    {
        CudaAsm.Emit(TensorCorePtx.Declare);
        CudaAsm.Emit(WarpGroupPtx.Declare);
        _staging = LoopInvariant.Keep(TensorCoreLayout.StagingLaneOffset(Warp.WarpIdx, Warp.LaneIdx));
        _warpRow = LoopInvariant.Keep(WarpGroupLayout.TileRow(Warp.WarpIdx, 0));
    }

    public readonly void Zero() => CudaAsm.Emit(TensorCorePtx.Zero);

    public readonly int MTiles => 4;

    public readonly bool WarpGroup => true;

    public readonly int StagesAhead => 1;

    public readonly bool Inside(int row0, int rows) => row0 + 64 < rows;

    public readonly void Step(ArrayView<ushort> shared, int stageBytes, int kStep)
    {
        CudaAsm.Emit(WarpGroupPtx.Step, Units(stageBytes, kStep));
        WaitAfterLastStep(kStep);
    }

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep)
    {
        CudaAsm.Emit(WarpGroupPtx.StepFirstHalf, Units(stageBytes, kStep));
        WaitAfterLastStep(kStep);
    }

    /// <summary>After a stage's last k16 step (a constant in the unrolled loop), the wait for the previous stage's wgmma.</summary>
    private static void WaitAfterLastStep(int kStep)
    {
        if (kStep == TensorCoreLayout.Depth / 16 - 1) CudaAsm.Emit(WarpGroupPtx.WaitForPreviousStage);
    }

    public readonly void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep) => StepFirstTile(shared, stageBytes, kStep);

    /// <summary>wgmma reads shared memory through the async proxy: stores and cp.async copies made through the generic one need a proxy fence.</summary>
    public readonly void PublishStores() => CudaAsm.Emit(WarpGroupPtx.PublishStores);

    public readonly void Drain() => CudaAsm.Emit(WarpGroupPtx.Drain);

    /// <summary>The step's operands from the stage tiles' descriptors, in their 16-byte units.</summary>
    private static int Units(int stageBytes, int kStep) => (stageBytes + kStep * TensorCoreLayout.KStepBytes) >> 4;

    public readonly int TileRow(int mTile) => _warpRow + WarpGroupLayout.TileRow(0, mTile);

    public readonly int ColumnHalf(int mTile) => WarpGroupLayout.ColumnHalf(mTile);

    public readonly void Stage(ArrayView<float> staging, int mTile) => PtxStaging.Stage(_staging, mTile);
}

/// <summary>
/// What <see cref="WarpGroupMma"/> computes, element by element, on ILGPU's CPU accelerator: each lane accumulates the
/// elements the wgmma accumulator layout leaves in it, reading A and B where their descriptors say they lie (decoded as
/// the PTX ISA defines them, not through <see cref="TensorCoreLayout.Slot"/>, which places the stores: the two must agree).
/// </summary>
public struct EmulatedWarpGroupMma : IWarpMma
{
    private EmulatedAccumulators _accumulators;

    public void Declare() => _accumulators = EmulatedAccumulators.Allocate();

    public readonly void Zero() => _accumulators.Zero();

    public readonly int MTiles => 4;

    public readonly bool WarpGroup => false;

    public readonly int StagesAhead => 1;

    public readonly bool Inside(int row0, int rows) => row0 + 64 < rows;

    public readonly void Step(ArrayView<ushort> shared, int stageBytes, int kStep) => Accumulate(shared, stageBytes, kStep, MTiles);

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stageBytes, int kStep) => Accumulate(shared, stageBytes, kStep, 2);

    public readonly void StepPast(ArrayView<ushort> shared, int stageBytes, int kStep) => StepFirstTile(shared, stageBytes, kStep);

    public readonly void PublishStores() { }

    public readonly void Drain() { }

    /// <summary>The wgmma of a k16 step for staged m16 tiles 0 … <paramref name="mTiles"/> − 1 (2 per 64-row half).</summary>
    private readonly void Accumulate(ArrayView<ushort> shared, int stageBytes, int kStep, int mTiles)
    {
        int a = stageBytes + kStep * TensorCoreLayout.KStepBytes, b = a + TensorCoreLayout.TileBytes;
        var operandB = new DescribedOperand(b, 0);
        for (int i = 0; i < mTiles; i++)
        {
            int half = i >> 1;
            _accumulators.Accumulate(shared, i, TileRow(i), ColumnHalf(i), new DescribedOperand(a + half * WarpGroupLayout.HalfBytes, 64 * half), operandB);
        }
    }

    public readonly int TileRow(int mTile) => WarpGroupLayout.TileRow(Warp.WarpIdx, mTile);

    public readonly int ColumnHalf(int mTile) => WarpGroupLayout.ColumnHalf(mTile);

    public readonly void Stage(ArrayView<float> staging, int mTile) => _accumulators.Stage(staging, mTile);

    /// <summary>The operand a descriptor of the tile at byte <paramref name="start"/> describes, whose row 0 is tile row <paramref name="firstRow"/>.</summary>
    private readonly struct DescribedOperand(int start, int firstRow) : IEmulatedOperand
    {
        private readonly ulong _descriptor = WarpGroupLayout.Descriptor((uint)start);

        public int Offset(int row, int k) => start + WarpGroupLayout.ElementOffset(_descriptor, row - firstRow, k);
    }
}
