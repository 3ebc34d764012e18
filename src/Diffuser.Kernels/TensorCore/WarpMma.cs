using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// A warp's 128 fp32 accumulators (4 m16 × 8 n8 tiles) and the tensor-core instructions that update them (device
/// code). Every lane of the warp must make every call (warp-synchronous instructions).
/// </summary>
public interface IWarpMma
{
    /// <summary>Once, first in the kernel (the PTX declares its registers here).</summary>
    void Declare();

    void Zero();

    /// <summary>m16 tiles the warp computes and stages: 4 (its 64 rows), 1 where only a tile's first 16 rows exist (<see cref="FirstRowsMma{TM}"/>).</summary>
    int MTiles { get; }

    /// <summary>One k16 step of the warp's tile from the operand tiles of shared stage <paramref name="stage"/>.</summary>
    void Step(ArrayView<ushort> shared, int stage, int kStep);

    /// <summary>As <see cref="Step"/>, for the warp's m16 tile 0 alone (its other accumulators stay as they are).</summary>
    void StepFirstTile(ArrayView<ushort> shared, int stage, int kStep);

    /// <summary>The accumulators of m16 tile <paramref name="mTile"/> into the warp's staging area (row-major 16×64 floats).</summary>
    void Stage(ArrayView<float> staging, int mTile);
}

/// <summary>
/// The tensor cores (sm_80 and later): ldmatrix.x4 and mma.sync.m16n8k16 f16 × f16 → f32 as inline PTX on named
/// registers, so no accumulator passes through an ILGPU variable (which ILGPU would keep in local memory).
/// </summary>
public struct PtxWarpMma : IWarpMma
{
    // The lane's ldmatrix byte offsets for stage 0, k-step 0 (a k-step is 32 bytes on, a stage StageBytes), and its
    // staging offset: computed once, not in the main loop (ptxas turns a division even by a constant into ~20 instructions).
    private int _a, _b, _staging;

    public void Declare()
    {
        CudaAsm.Emit(TensorCorePtx.Declare);
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        _a = LoopInvariant.Keep(TensorCoreLayout.AStepAddress(warp, lane, 0, 0));
        _b = LoopInvariant.Keep(TensorCoreLayout.BStepAddress(warp, lane, 0, 0));
        _staging = LoopInvariant.Keep(TensorCoreLayout.StagingLaneOffset(warp, lane));
    }

    public readonly void Zero() => CudaAsm.Emit(TensorCorePtx.Zero);

    public readonly int MTiles => 4;

    public readonly void Step(ArrayView<ushort> shared, int stage, int kStep) => CudaAsm.Emit(TensorCorePtx.Step, _a + Offset(stage, kStep), _b + Offset(stage, kStep));

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stage, int kStep) =>
        CudaAsm.Emit(TensorCorePtx.StepFirstTile, _a + Offset(stage, kStep), _b + Offset(stage, kStep));

    private static int Offset(int stage, int kStep) => stage * TensorCoreLayout.StageBytes + kStep * TensorCoreLayout.KStepBytes;

    public readonly void Stage(ArrayView<float> staging, int mTile)
    {
        if (mTile == 0) CudaAsm.Emit(TensorCorePtx.Stage0, _staging);
        else if (mTile == 1) CudaAsm.Emit(TensorCorePtx.Stage1, _staging);
        else if (mTile == 2) CudaAsm.Emit(TensorCorePtx.Stage2, _staging);
        else CudaAsm.Emit(TensorCorePtx.Stage3, _staging);
    }
}

/// <summary>
/// What the tensor cores compute, element by element, for devices without them: each lane accumulates the very
/// elements <see cref="TensorCoreLayout"/> says mma.m16n8k16 leaves in it, and stages them where the PTX stores them.
/// ILGPU's CPU accelerator runs the whole tensor-core kernel with it, so every address of the kernel is tested there.
/// </summary>
public struct EmulatedWarpMma : IWarpMma
{
    private ArrayView<float> _accumulators;

    private const int TileAccumulators = 4 * TensorCoreLayout.NTiles, Accumulators = 4 * TileAccumulators;

    public void Declare() => _accumulators = LocalMemory.Allocate<float>(Accumulators);

    public readonly void Zero()
    {
        for (int i = 0; i < Accumulators; i++) _accumulators[i] = 0f;
    }

    public readonly int MTiles => 4;

    public readonly void Step(ArrayView<ushort> shared, int stage, int kStep) => Accumulate(shared, stage, kStep, Accumulators);

    public readonly void StepFirstTile(ArrayView<ushort> shared, int stage, int kStep) => Accumulate(shared, stage, kStep, TileAccumulators);

    /// <summary>A k16 step of the first <paramref name="count"/> accumulators (m16 tile by m16 tile).</summary>
    private readonly void Accumulate(ArrayView<ushort> shared, int stage, int kStep, int count)
    {
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        int aBase = stage * TensorCoreLayout.StageBytes / 2 + kStep * 16, bBase = aBase + TensorCoreLayout.TileBytes / 2;
        for (int index = 0; index < count; index++)
        {
            int i = index / TileAccumulators, j = index / 4 % TensorCoreLayout.NTiles, e = index % 4;
            int row = TensorCoreLayout.WarpM(warp) * 64 + 16 * i + TensorCoreLayout.AccumulatorRow(lane, e);
            int col = TensorCoreLayout.NTileColumn(TensorCoreLayout.WarpN(warp), j) + TensorCoreLayout.AccumulatorColumn(lane, e);
            float sum = 0f;
            for (int k = 0; k < 16; k++)
                sum += (float)Interop.IntAsFloat(shared[aBase + row * TensorCoreLayout.Pitch + k])
                    * (float)Interop.IntAsFloat(shared[bBase + col * TensorCoreLayout.Pitch + k]);
            _accumulators[index] += sum;
        }
    }

    public readonly void Stage(ArrayView<float> staging, int mTile)
    {
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        for (int index = 0; index < TileAccumulators; index++)
        {
            int j = index / 4, e = index % 4;
            int at = warp * TensorCoreLayout.StagingFloats + TensorCoreLayout.AccumulatorRow(lane, e) * TensorCoreLayout.StagingPitch
                + 8 * j + TensorCoreLayout.AccumulatorColumn(lane, e);
            staging[at] = _accumulators[mTile * TileAccumulators + index];
        }
    }
}
