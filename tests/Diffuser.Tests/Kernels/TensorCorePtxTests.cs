using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core PTX, run for every warp of a group by <see cref="PtxWarpInterpreter"/> with the kernel's own lane
/// addresses: two stages of random tiles, four k16 steps, then each m16 tile staged must hold the exact products
/// of the rows and columns <see cref="TensorCoreLayout"/> assigns to it. Padding halves are NaN, so reading one fails.
/// </summary>
public class TensorCorePtxTests
{
    /// <summary>The whole step (4 m16 tiles), and the step of m16 tile 0 alone, which leaves the other tiles' accumulators at zero.</summary>
    [Theory, InlineData(4), InlineData(1)]
    public void EveryWarpStagesTheProductOfItsRowsAndColumns(int mTiles)
    {
        var random = new Random(7);
        var tiles = new byte[TensorCoreMatmul.SharedBytes<PtxWarpMma>()];
        var values = new float[2, 2, TensorCoreLayout.Size, TensorCoreLayout.Depth];   // [stage, operand, row, k]
        for (int stage = 0; stage < 2; stage++)
            for (int operand = 0; operand < 2; operand++)
                for (int row = 0; row < TensorCoreLayout.Size; row++)
                    for (int k = 0; k < TensorCoreLayout.Pitch; k++)
                    {
                        var h = k < TensorCoreLayout.Depth ? (Half)(random.NextDouble() * 4 - 2) : Half.NaN;
                        if (k < TensorCoreLayout.Depth) values[stage, operand, row, k] = (float)h;
                        int at = stage * TensorCoreLayout.StageBytes + operand * TensorCoreLayout.TileBytes + (row * TensorCoreLayout.Pitch + k) * 2;
                        BitConverter.TryWriteBytes(tiles.AsSpan(at), BitConverter.HalfToUInt16Bits(h));
                    }

        string[] stages = [TensorCorePtx.Stage0, TensorCorePtx.Stage1, TensorCorePtx.Stage2, TensorCorePtx.Stage3];
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
        {
            var shared = (byte[])tiles.Clone();
            var ptx = new PtxWarpInterpreter(shared);
            ptx.Run(TensorCorePtx.Declare);
            ptx.Run(TensorCorePtx.Zero);
            for (int stage = 0; stage < 2; stage++)
                for (int kStep = 0; kStep < 2; kStep++)
                    ptx.Run(mTiles == 4 ? TensorCorePtx.Step : TensorCorePtx.StepFirstTile, lane => [TensorCoreLayout.AStepAddress(warp, lane, stage, kStep), TensorCoreLayout.BStepAddress(warp, lane, stage, kStep)]);
            for (int i = 0; i < 4; i++)
            {
                ptx.Run(stages[i], lane => [TensorCoreLayout.StagingLaneOffset(warp, lane)]);
                for (int r = 0; r < 16; r++)
                    for (int c = 0; c < 8 * TensorCoreLayout.NTiles; c++)
                    {
                        int row = TensorCoreLayout.WarpM(warp) * 64 + 16 * i + r, col = TensorCoreLayout.StagedColumn(TensorCoreLayout.WarpN(warp), c);
                        double expected = 0;
                        for (int stage = 0; stage < 2 && i < mTiles; stage++)
                            for (int k = 0; k < TensorCoreLayout.Depth; k++) expected += values[stage, 0, row, k] * values[stage, 1, col, k];
                        float actual = BitConverter.ToSingle(shared, (warp * TensorCoreLayout.StagingFloats + r * TensorCoreLayout.StagingPitch + c) * 4);
                        Assert.True(Math.Abs(actual - expected) <= 1e-4 * (1 + Math.Abs(expected)),
                            $"warp {warp}, m16 tile {i}: C[{row}, {col}] = {actual}, expected {expected}");
                    }
            }
        }
    }

    /// <summary>
    /// The warp-group PTX (<see cref="WarpGroupPtx"/>), run for each warp of the group as the main loop issues it: the
    /// descriptors made in PTX, three stages of random tiles placed where <see cref="WarpGroupLayout.Slot"/> puts the
    /// kernel's stores (padding none, every other byte NaN), each stage's steps and the wait at its last, the drain, then
    /// the staging PTX the mma.sync path shares. Each staged m16 tile must hold the exact products of the rows and
    /// columns <see cref="WarpGroupLayout"/> assigns to it; with the first half alone, tiles of rows 64–127 stay zero.
    /// </summary>
    [Theory, InlineData(false), InlineData(true)]
    public void EveryWarpOfTheGroupStagesTheProductOfItsRowsAndColumns(bool firstHalf)
    {
        const int stages = WarpGroupLayout.Stages;
        var random = new Random(11);
        var tiles = new byte[TensorCoreMatmul.SharedBytes<WarpGroupMma>() + WarpGroupLayout.StageBytes];   // one stage more, NaN, to catch overreads
        for (int at = 0; at < tiles.Length; at += 2) BitConverter.TryWriteBytes(tiles.AsSpan(at), BitConverter.HalfToUInt16Bits(Half.NaN));
        var values = new float[stages, 2, TensorCoreLayout.Size, TensorCoreLayout.Depth];   // [stage, operand, row, k]
        for (int stage = 0; stage < stages; stage++)
            for (int operand = 0; operand < 2; operand++)
                for (int row = 0; row < TensorCoreLayout.Size; row++)
                    for (int k = 0; k < TensorCoreLayout.Depth; k++)
                    {
                        var h = (Half)(random.NextDouble() * 4 - 2);
                        values[stage, operand, row, k] = (float)h;
                        int at = stage * WarpGroupLayout.StageBytes + operand * WarpGroupLayout.TileBytes + 16 * WarpGroupLayout.Slot(row, k / 8) + k % 8 * 2;
                        BitConverter.TryWriteBytes(tiles.AsSpan(at), BitConverter.HalfToUInt16Bits(h));
                    }

        string[] staging = [TensorCorePtx.Stage0, TensorCorePtx.Stage1, TensorCorePtx.Stage2, TensorCorePtx.Stage3];
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
        {
            var shared = (byte[])tiles.Clone();
            var ptx = new PtxWarpInterpreter(shared, warp);
            ptx.Run(TensorCorePtx.Declare);
            ptx.Run(WarpGroupPtx.Declare);
            ptx.Run(TensorCorePtx.Zero);
            for (int stage = 0; stage < stages; stage++)
            {
                ptx.Run(WarpGroupPtx.PublishStores);
                for (int kStep = 0; kStep < 2; kStep++)
                {
                    int units = (stage * WarpGroupLayout.StageBytes + kStep * WarpGroupLayout.KStepBytes) >> 4;
                    ptx.Run(firstHalf ? WarpGroupPtx.StepFirstHalf : WarpGroupPtx.Step, _ => [units]);
                }
                ptx.Run(WarpGroupPtx.WaitForPreviousStage);
            }
            Assert.Throws<InvalidOperationException>(() => ptx.Run(staging[0], lane => [TensorCoreLayout.StagingLaneOffset(warp, lane)]));   // the last stage still runs
            ptx.Run(WarpGroupPtx.Drain);
            for (int i = 0; i < 4; i++)
            {
                ptx.Run(staging[i], lane => [TensorCoreLayout.StagingLaneOffset(warp, lane)]);
                bool computed = !firstHalf || i < 2;
                for (int r = 0; r < 16; r++)
                    for (int c = 0; c < 8 * TensorCoreLayout.NTiles; c++)
                    {
                        int row = WarpGroupLayout.TileRow(warp, i) + r, col = TensorCoreLayout.StagedColumn(WarpGroupLayout.ColumnHalf(i), c);
                        double expected = 0;
                        for (int stage = 0; stage < stages && computed; stage++)
                            for (int k = 0; k < TensorCoreLayout.Depth; k++) expected += values[stage, 0, row, k] * values[stage, 1, col, k];
                        float actual = BitConverter.ToSingle(shared, (warp * TensorCoreLayout.StagingFloats + r * TensorCoreLayout.StagingPitch + c) * 4);
                        Assert.True(Math.Abs(actual - expected) <= 1e-4 * (1 + Math.Abs(expected)),
                            $"warp {warp}, m16 tile {i}: C[{row}, {col}] = {actual}, expected {expected}");
                    }
            }
        }
    }

    [Fact]
    public void WarpsCoverEveryTileColumnOnceAndPairEachValueWithItsGate()
    {
        var columns = Enumerable.Range(0, 2).SelectMany(wn => Enumerable.Range(0, 64).Select(c => TensorCoreLayout.StagedColumn(wn, c))).Order();
        Assert.Equal(Enumerable.Range(0, TensorCoreLayout.Size), columns);
        for (int wn = 0; wn < 2; wn++)
            for (int c = 0; c < 32; c++)
                Assert.Equal(TensorCoreLayout.StagedColumn(wn, c) + 64, TensorCoreLayout.StagedColumn(wn, c + 32));
    }

    [Fact]
    public void StridesInThePtxAreTheLayoutsStrides()
    {
        Assert.Contains($"[tc_pa+{TensorCoreLayout.MTileBytes}]", TensorCorePtx.Step);
        Assert.Contains($"[tc_pb+{TensorCoreLayout.PairBytes}]", TensorCorePtx.Step);
        Assert.Contains($"[tc_pb+{TensorCoreLayout.PairBytes}]", TensorCorePtx.StepFirstTile);
        Assert.Contains($"[tc_pb+{TensorCoreLayout.ThirdPairBytes + TensorCoreLayout.PairBytes}]", TensorCorePtx.Step);
        Assert.Contains($"[tc_ps+{TensorCoreLayout.StagingHalfBytes}]", TensorCorePtx.Stage0);
    }

    /// <summary>Each kind of warp's stages fit the 48 KB a kernel gets without opting in, and hold the epilogue's staging that reuses them.</summary>
    [Fact]
    public void SharedMemoryFitsWithoutOptingInAndHoldsTheStaging()
    {
        int[] bytes = [TensorCoreMatmul.SharedBytes<PtxWarpMma>(), TensorCoreMatmul.SharedBytes<FirstRowsMma<PtxWarpMma>>(),
            TensorCoreMatmul.SharedBytes<WarpGroupMma>(), TensorCoreMatmul.SharedBytes<EmulatedWarpGroupMma>()];
        Assert.Equal([2 * TensorCoreLayout.StageBytes, 2 * TensorCoreLayout.StageBytes, 3 * WarpGroupLayout.StageBytes, 3 * WarpGroupLayout.StageBytes], bytes);
        foreach (int shared in bytes)
        {
            Assert.True(shared <= 48 * 1024, "more than 48 KB of dynamic shared memory needs cuFuncSetAttribute");
            Assert.True(TensorCoreLayout.Threads / 32 * TensorCoreLayout.StagingFloats * 4 <= shared);
        }
    }

    /// <summary><see cref="PtxWarpMma"/> computes a lane's ldmatrix offsets once and steps them by stage and k-step.</summary>
    [Fact]
    public void LaneAddressesStepByStageAndKStep()
    {
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
            for (int lane = 0; lane < 32; lane++)
                for (int stage = 0; stage < 2; stage++)
                    for (int kStep = 0; kStep < 2; kStep++)
                    {
                        int step = stage * TensorCoreLayout.StageBytes + kStep * TensorCoreLayout.KStepBytes;
                        Assert.Equal(TensorCoreLayout.AStepAddress(warp, lane, 0, 0) + step, TensorCoreLayout.AStepAddress(warp, lane, stage, kStep));
                        Assert.Equal(TensorCoreLayout.BStepAddress(warp, lane, 0, 0) + step, TensorCoreLayout.BStepAddress(warp, lane, stage, kStep));
                    }
    }
}
