using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// How a split product's splits share its tiles' rows (<see cref="SplitReduction.Finish"/>), on a CPU accelerator of
/// 4 multiprocessors: every row step of every tile is finished once (16 steps, as a tile's rows; 8, as a GEGLU tile's,
/// fewer than the blocks of 16 splits), whether the splits run at once and wait for each other, or not (more splits
/// than multiprocessors: who waits in vain leaves, and the last to arrive claims the rest), or nobody waits; and the
/// counters are back at zero for the next launch.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class SplitReductionTests(SplitReductionTests.Device device) : IClassFixture<SplitReductionTests.Device>
{
    private const int MostSteps = 16;

    [Theory]
    [InlineData(3, 4, 1 << 19, 4)]    // 12 groups, 4 at once: a tile's splits may meet
    [InlineData(1, 16, 1 << 19, 4)]   // 16 splits of a tile, 4 at once: the first ones leave
    [InlineData(1, 16, 1 << 19, 3)]   // 16 blocks of 8 steps: half of them empty
    [InlineData(1, 26, 1 << 19, 4)]   // 26 blocks of 16 steps: 10 empty
    [InlineData(2, 6, 0, 4)]          // nobody waits: the last to arrive claims every block
    [InlineData(4, 2, 256, 3)]
    public void EveryRowStepIsFinishedOnceAndTheCountersEndAtZero(int tiles, int splits, int polls, int stepBits)
    {
        var accelerator = device.Accelerator;
        using var counters = accelerator.Allocate1D<int>(tiles);
        using var finished = accelerator.Allocate1D<int>(tiles * MostSteps);
        counters.MemSetToZero();
        finished.MemSetToZero();
        var finish = accelerator.LoadKernel<ArrayView<int>, ArrayView<int>, SplitK, int, int>(Finish);
        for (int launch = 1; launch <= 2; launch++)
        {
            finish(accelerator.DefaultStream, new KernelConfig(new Index3D(tiles, 1, splits), new Index3D(32, 1, 1)),
                counters.View, finished.View, new SplitK(splits, 32), polls, stepBits);
            accelerator.Synchronize();
            int[] times = finished.GetAsArray1D();
            for (int tile = 0; tile < tiles; tile++)
                for (int step = 0; step < MostSteps; step++)
                    Assert.True(times[tile * MostSteps + step] == (step < 1 << stepBits ? launch : 0),
                        $"launch {launch}, tile {tile}, step {step}: finished {times[tile * MostSteps + step]} times in all");
            Assert.All(counters.GetAsArray1D(), c => Assert.Equal(0, c));
        }
    }

    /// <summary>Grid (tiles, 1, splits): each split finishes its share of its tile, counting the row steps it finishes.</summary>
    private static void Finish(ArrayView<int> counters, ArrayView<int> finished, SplitK split, int polls, int stepBits)
    {
        var rows = new CountedSteps(finished.SubView(Grid.IdxX * MostSteps, MostSteps), stepBits);
        new SplitReduction(default, counters, split, polls).Finish(Grid.IdxX, split.Count, ref rows, SharedMemory.Allocate<int>(1));
    }

    private readonly struct CountedSteps(ArrayView<int> finished, int stepBits) : ISplitRows
    {
        public int StepBits => stepBits;

        public void Finish(int step)
        {
            if (Group.IsFirstThread) Atomic.Add(ref finished[step], 1);
        }
    }

    public sealed class Device() : CpuAcceleratorFixture(multiprocessors: 4);
}
