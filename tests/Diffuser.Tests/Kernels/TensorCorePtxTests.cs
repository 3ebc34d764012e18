using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core PTX, run for every warp of a group by <see cref="PtxWarpInterpreter"/> with the kernel's own lane
/// addresses: the stages of random tiles, two k16 steps each, then each m16 tile staged must hold the exact products
/// of the rows and columns <see cref="TensorCoreLayout"/> assigns to it.
/// </summary>
public class TensorCorePtxTests
{
    /// <summary>
    /// Random tiles of every stage placed where <see cref="TensorCoreLayout.Slot"/> puts the kernel's stores, values
    /// [stage, operand, row, k], in shared memory one stage longer than the kernels', whose other bytes are NaN (so
    /// reading outside the tiles fails).
    /// </summary>
    private static (byte[] Shared, float[,,,] Values) RandomStages(int seed)
    {
        var random = new Random(seed);
        var shared = new byte[TensorCoreLayout.SharedBytes + TensorCoreLayout.StageBytes];
        for (int at = 0; at < shared.Length; at += 2) BitConverter.TryWriteBytes(shared.AsSpan(at), BitConverter.HalfToUInt16Bits(Half.NaN));
        var values = new float[TensorCoreLayout.Stages, 2, TensorCoreLayout.Size, TensorCoreLayout.Depth];
        for (int stage = 0; stage < TensorCoreLayout.Stages; stage++)
            for (int operand = 0; operand < 2; operand++)
                for (int row = 0; row < TensorCoreLayout.Size; row++)
                    for (int k = 0; k < TensorCoreLayout.Depth; k++)
                    {
                        var h = (Half)(random.NextDouble() * 4 - 2);
                        values[stage, operand, row, k] = (float)h;
                        int at = stage * TensorCoreLayout.StageBytes + operand * TensorCoreLayout.TileBytes + 16 * TensorCoreLayout.Slot(row, k / 8) + k % 8 * 2;
                        BitConverter.TryWriteBytes(shared.AsSpan(at), BitConverter.HalfToUInt16Bits(h));
                    }
        return (shared, values);
    }

    /// <summary>The whole step (4 m16 tiles), and the step of m16 tile 0 alone, which leaves the other tiles' accumulators at zero.</summary>
    [Theory, InlineData(4), InlineData(1)]
    public void EveryWarpStagesTheProductOfItsRowsAndColumns(int mTiles)
    {
        var (tiles, values) = RandomStages(7);
        string[] stages = [TensorCorePtx.Stage0, TensorCorePtx.Stage1, TensorCorePtx.Stage2, TensorCorePtx.Stage3];
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
        {
            var shared = (byte[])tiles.Clone();
            var ptx = new PtxWarpInterpreter(shared);
            ptx.Run(TensorCorePtx.Declare);
            ptx.Run(TensorCorePtx.Zero);
            for (int stage = 0; stage < TensorCoreLayout.Stages; stage++)
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
                        for (int stage = 0; stage < TensorCoreLayout.Stages && i < mTiles; stage++)
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
    /// descriptors made in PTX, the stages of random tiles, each stage's steps and the wait at its last, the drain, then
    /// the staging PTX the mma.sync path shares. Each staged m16 tile must hold the exact products of the rows and
    /// columns <see cref="WarpGroupLayout"/> assigns to it; with the first half alone, tiles of rows 64–127 stay zero.
    /// </summary>
    [Theory, InlineData(false), InlineData(true)]
    public void EveryWarpOfTheGroupStagesTheProductOfItsRowsAndColumns(bool firstHalf)
    {
        const int stages = TensorCoreLayout.Stages;
        var (tiles, values) = RandomStages(11);
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
                    int units = (stage * TensorCoreLayout.StageBytes + kStep * TensorCoreLayout.KStepBytes) >> 4;
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

    /// <summary>The stages fit the 48 KB a kernel gets without opting in, and hold the epilogue's staging that reuses them.</summary>
    [Fact]
    public void SharedMemoryFitsWithoutOptingInAndHoldsTheStaging()
    {
        Assert.True(TensorCoreLayout.SharedBytes <= 48 * 1024, "more than 48 KB of dynamic shared memory needs cuFuncSetAttribute");
        Assert.True(TensorCoreLayout.Threads / 32 * TensorCoreLayout.StagingFloats * 4 <= TensorCoreLayout.SharedBytes);
    }

    /// <summary><see cref="PtxWarpMma"/> computes a lane's ldmatrix offsets once and steps them by stage and k-step.</summary>
    [Fact]
    public void LaneAddressesStepByStageAndKStep()
    {
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
            for (int lane = 0; lane < 32; lane++)
                for (int stage = 0; stage < TensorCoreLayout.Stages; stage++)
                    for (int kStep = 0; kStep < 2; kStep++)
                    {
                        int step = stage * TensorCoreLayout.StageBytes + kStep * TensorCoreLayout.KStepBytes;
                        Assert.Equal(TensorCoreLayout.AStepAddress(warp, lane, 0, 0) + step, TensorCoreLayout.AStepAddress(warp, lane, stage, kStep));
                        Assert.Equal(TensorCoreLayout.BStepAddress(warp, lane, 0, 0) + step, TensorCoreLayout.BStepAddress(warp, lane, stage, kStep));
                    }
    }

    /// <summary>
    /// Shared memory serves each 16-byte bank group (4 banks) once per 8-thread phase of a 16-byte access: every
    /// ldmatrix phase (8 lanes, one 8×8 matrix), every 8 threads' stores of an operand loaded along k or along mn, and
    /// the copies' stores and the kernels' reads cover each of the 8 groups once, so none waits on a bank conflict.
    /// </summary>
    [Fact]
    public void EveryPhaseMeetsEachBankGroupOnce()
    {
        static void AssertEachGroupOnce(IEnumerable<int> byteOffsets, string what) =>
            Assert.True(byteOffsets.Select(b => b / 16 % 8).Order().SequenceEqual(Enumerable.Range(0, 8)), what);

        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
            for (int kStep = 0; kStep < 2; kStep++)
                for (int phase = 0; phase < 4; phase++)
                {
                    var lanes = Enumerable.Range(8 * phase, 8).ToArray();
                    AssertEachGroupOnce(lanes.Select(l => TensorCoreLayout.AStepAddress(warp, l, 0, kStep)), $"A ldmatrix, warp {warp}, k-step {kStep}, matrix {phase}");
                    AssertEachGroupOnce(lanes.Select(l => TensorCoreLayout.BStepAddress(warp, l, 0, kStep)), $"B ldmatrix, warp {warp}, k-step {kStep}, matrix {phase}");
                }
        for (int phase = 0; phase < TensorCoreLayout.Threads / 8; phase++)
        {
            var threads = Enumerable.Range(8 * phase, 8).ToArray();
            for (int i = 0; i < 4; i++)
            {
                AssertEachGroupOnce(threads.Select(t => 16 * TensorCoreLayout.Slot(TensorCoreLayout.AlongKRow(t) + 32 * i, TensorCoreLayout.AlongKChunk(t))), $"along k, threads {8 * phase}+, chunk {i}");
                AssertEachGroupOnce(threads.Select(t => 16 * TensorCoreLayout.Slot(t, i)), $"along mn, threads {8 * phase}+, chunk {i}");
            }
        }
    }

    /// <summary>
    /// The threads' copies along k cover each row's 4 chunks of a stage once (rows r + 32·i, i = 0..3), each warp
    /// whole rows (its global reads take whole 64-byte rows), and <see cref="TensorCoreLayout.Slot"/> maps the tile onto
    /// its 512 slots one to one, linearly in the row's 32-row steps and in the chunk (the quads' slots are a first slot
    /// and a constant step).
    /// </summary>
    [Fact]
    public void CopiesCoverTheTileOnceAndTheLayoutIsLinear()
    {
        var copied = Enumerable.Range(0, TensorCoreLayout.Threads)
            .SelectMany(t => Enumerable.Range(0, 4).Select(i => (Row: TensorCoreLayout.AlongKRow(t) + 32 * i, Chunk: TensorCoreLayout.AlongKChunk(t)))).ToHashSet();
        Assert.Equal(TensorCoreLayout.TileSlots, copied.Count);
        Assert.All(copied, c => Assert.InRange(c.Row, 0, TensorCoreLayout.Size - 1));
        for (int warp = 0; warp < TensorCoreLayout.Threads / 32; warp++)
        {
            var lanes = Enumerable.Range(32 * warp, 32);
            Assert.Equal(8, lanes.Select(TensorCoreLayout.AlongKRow).Distinct().Count());   // 8 rows × 4 chunks: whole rows
            Assert.Equal(32, lanes.Select(t => (TensorCoreLayout.AlongKRow(t), TensorCoreLayout.AlongKChunk(t))).Distinct().Count());
        }
        var slots = Enumerable.Range(0, TensorCoreLayout.Size).SelectMany(r => Enumerable.Range(0, 4).Select(c => TensorCoreLayout.Slot(r, c))).Order();
        Assert.Equal(Enumerable.Range(0, TensorCoreLayout.TileSlots), slots);
        for (int r = 0; r < 32; r++)
            for (int c = 0; c < 4; c++)
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(TensorCoreLayout.Slot(r, 0) + c * (TensorCoreLayout.Slot(0, 1) - TensorCoreLayout.Slot(0, 0)), TensorCoreLayout.Slot(r, c));
                    Assert.Equal(TensorCoreLayout.Slot(r, c) + i * TensorCoreLayout.Slot(32, 0), TensorCoreLayout.Slot(r + 32 * i, c));
                }
    }
}
