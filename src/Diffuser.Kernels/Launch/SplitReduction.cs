using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// A split reduction that its product kernel finishes itself (device code): each split stores its raw sums of a tile
/// in the workspace and counts itself in at the tile's counter, then the splits that are there together finish the
/// tile: the tile's rows are <see cref="SplitK.Count"/> blocks, each claimed by one split, which adds every split's sums
/// of its rows in split order (the order the separate reduce kernel used, so the result is the same whoever adds them)
/// and applies the epilogue. This saves a reduce launch per split product (125 of the 197 GEMMs and convolutions of an
/// SD 1.5 step at 512² on an H200: the 32×32 and smaller levels and the time-embedding projections), and spreads the
/// reduction over the tile's splits: a split product's splits all run at once (<see cref="SplitK.Choose"/>) and
/// finish together, and one split adding a tile alone pulled count × 64 KB through one multiprocessor, one row after
/// another (6 splits: 16 waits on L2 a thread, one a row; now at most 3, the rows of its block). A split waits for
/// the others only a bounded while (<see cref="Polls"/>): where they do not all run at once (a CPU accelerator, or a
/// GPU that holds fewer groups than counted on) it leaves, and the split that arrives last, which never waits, claims
/// what is left: nothing ever waits for a group that cannot start. A product splits only when it has fewer tiles than
/// the device has multiprocessors, and stream-K deals at most <see cref="TileSchedule.MaxWaves"/> waves of tiles, so
/// that a counter a tile of those waves suffices.
/// </summary>
/// <param name="polls">How often a split looks for the tile's last arrival before it leaves (<see cref="PollsOn"/>).</param>
/// <param name="schedule">How the product's tiles are dealt to its groups (stream-K's pieces finish a tile as splits do).</param>
public readonly struct SplitReduction(ArrayView<float> workspace, ArrayView<int> counters, SplitK split, int polls, TileSchedule schedule = default)
{
    // A tile's counter packs three counts of its splits: arrivals, claims of blocks (the claims past the last block are
    // the claimers' leaving) and leavings without a claim. Each stays within 2·32 (SplitK's most splits).
    private const int Arrival = 1, Claim = 1 << 8, GaveUp = 1 << 16, Field = 0xFF;

    /// <summary>The splits' raw sums, split after split.</summary>
    public readonly ArrayView<float> Workspace = workspace;

    /// <summary>One counter per output tile, zero between launches.</summary>
    public readonly ArrayView<int> Counters = counters;

    public readonly SplitK Split = split;

    /// <summary>How often a split looks for the tile's last arrival before it leaves.</summary>
    public readonly int Polls = polls;

    /// <summary>Stream-K's deal (<see cref="TileSchedule.Groups"/> 0 where the grid deals the tiles).</summary>
    public readonly TileSchedule Schedule = schedule;

    /// <summary>
    /// Polls on an accelerator of <paramref name="type"/>: on a GPU a tile's splits arrive within microseconds, and 256
    /// atomic reads (≈ 0.2 ms) cap what a group that waits in vain costs; the CPU accelerator's groups are threads that
    /// arrive up to a group's emulation apart, and 2^19 looks (milliseconds) let the ones that run at once meet.
    /// </summary>
    public static int PollsOn(AcceleratorType type) => type == AcceleratorType.CPU ? 1 << 19 : 256;

    /// <summary>
    /// Finishes this group's share of tile <paramref name="tile"/>, one of its <paramref name="splits"/> splits (or
    /// stream-K pieces), whose raw sums it has stored: counts its split in, waits for the tile's other splits
    /// (<see cref="Polls"/> looks at most), then claims blocks of the tile's rows until none is left and hands each row
    /// step of a block to <paramref name="rows"/>. <paramref name="slot"/> is one int of shared memory. Every thread of
    /// the group calls it.
    /// </summary>
    public void Finish<TR>(int tile, int splits, ref TR rows, ArrayView<int> slot) where TR : struct, ISplitRows
    {
        for (int block = Arrive(tile, splits, slot); block < splits;)
        {
            int ahead = ClaimAhead(tile);
            // The steps in splits runs as even as can be (6 blocks of 16 steps: 3, 3, 2, 3, 3, 2).
            for (int step = 0; step < 1 << rows.StepBits; step++)
                if ((step * splits) >> rows.StepBits == block) rows.Finish(step);
            block = Next(tile, splits, ahead, slot);
        }
    }

    /// <summary>
    /// Counts this group's split of tile <paramref name="tile"/> in, and waits, at most <see cref="Polls"/> looks, until
    /// the tile's every split is; then claims a block of the tile's rows. Returns the block, the same to every thread,
    /// or <see cref="SplitK.Count"/> where there is none (the group has left: it claimed past the last block, or
    /// stopped waiting).
    /// </summary>
    private int Arrive(int tile, int splits, ArrayView<int> slot)
    {
        MemoryFence.DeviceLevel();   // this thread's sums reach the device before the tile counts them
        Group.Barrier();
        if (Group.IsFirstThread)
        {
            int state = Atomic.Add(ref Counters[tile], Arrival) + Arrival;
            for (int poll = 0; poll < Polls && (state & Field) < splits; poll++) state = Atomic.Add(ref Counters[tile], 0);
            if ((state & Field) < splits)
            {
                Leave(tile, splits, Atomic.Add(ref Counters[tile], GaveUp) + GaveUp);
                slot[0] = splits;
            }
            else
            {
                MemoryFence.DeviceLevel();   // the other splits' sums are read after their counts
                slot[0] = Claimed(tile, splits, Atomic.Add(ref Counters[tile], Claim));
            }
        }
        Group.Barrier();
        return slot[0];
    }

    /// <summary>
    /// The first thread's next claim on the tile's blocks, issued before the group adds the block it holds, so that
    /// its answer is back when <see cref="Next"/> reads it (0 in the other threads). At the tile's counter, addressed
    /// through the thread's index (0 here): an address ptxas cannot prove the same in every lane, else it aggregates the
    /// warp's atomics, and the aggregate's shuffle reads the answer at once.
    /// </summary>
    private int ClaimAhead(int tile) => Group.IsFirstThread ? Atomic.Add(ref Counters[tile + Group.IdxX], Claim) : 0;

    /// <summary>The block the first thread's claim <paramref name="ahead"/> got, to every thread, as <see cref="Arrive"/> returns it.</summary>
    private int Next(int tile, int splits, int ahead, ArrayView<int> slot)
    {
        Group.Barrier();   // every thread has read the slot's last block
        if (Group.IsFirstThread) slot[0] = Claimed(tile, splits, ahead);
        Group.Barrier();
        return slot[0];
    }

    /// <summary>The block a claim whose counter read <paramref name="state"/> got; a claim past the last block leaves.</summary>
    private int Claimed(int tile, int splits, int state)
    {
        int block = (state >> 8) & Field;
        if (block >= splits) Leave(tile, splits, state + Claim);
        return XMath.Min(block, splits);
    }

    /// <summary>After a group's leaving, which left the counter at <paramref name="state"/>: the last to leave resets it for the next launch.</summary>
    private void Leave(int tile, int splits, int state)
    {
        int left = ((state >> 16) & Field) + XMath.Max(((state >> 8) & Field) - splits, 0);
        if (left == splits) Counters[tile] = 0;
    }

    /// <summary>
    /// The sums over the <paramref name="splits"/> splits of the <paramref name="count"/> (≤ 8) raw sums at <paramref name="at"/> of split 0,
    /// <paramref name="splitStride"/> apart from split to split, added in split order; zero past <paramref name="count"/>.
    /// With <paramref name="chunked"/> (at and the stride multiples of 8, count 8 or 0: a kernel constant) a split's
    /// eight are two 16-byte loads. This is the tail of every split product, and it waits on L2's latency: so eight
    /// splits' loads are issued before their sums wait for any (one split at a time, a thread had 32 bytes in flight,
    /// and a row of 6 splits took 6 round trips to L2; now 1).
    /// </summary>
    public Row8 Sums(int at, int splitStride, int splits, int count, bool chunked)
    {
        var sums = default(Row8);
        if (chunked && count == 0) return sums;   // columns past the product's: nothing to read
        for (int k = 0; k < splits; k += 8)
        {
            Row8 p0 = Raw(at, splitStride, k, splits, count, chunked), p1 = Raw(at, splitStride, k + 1, splits, count, chunked);
            Row8 p2 = Raw(at, splitStride, k + 2, splits, count, chunked), p3 = Raw(at, splitStride, k + 3, splits, count, chunked);
            Row8 p4 = Raw(at, splitStride, k + 4, splits, count, chunked), p5 = Raw(at, splitStride, k + 5, splits, count, chunked);
            Row8 p6 = Raw(at, splitStride, k + 6, splits, count, chunked), p7 = Raw(at, splitStride, k + 7, splits, count, chunked);
            sums = Add(Add(Add(Add(sums, p0, k, splits), p1, k + 1, splits), p2, k + 2, splits), p3, k + 3, splits);
            sums = Add(Add(Add(Add(sums, p4, k + 4, splits), p5, k + 5, splits), p6, k + 6, splits), p7, k + 7, splits);
        }
        return sums;
    }

    /// <summary>Split <paramref name="k"/>'s raw sums at <paramref name="at"/> (all eight where <paramref name="chunked"/>); none past the last split.</summary>
    private Row8 Raw(int at, int splitStride, int k, int splits, int count, bool chunked)
    {
        if (k >= splits) return default;
        var raw = new F32View(Workspace);
        int first = at + k * splitStride;
        return chunked ? raw.LoadEight(first) : Row8.Load(raw, first, count);
    }

    /// <summary>sums + split <paramref name="k"/>'s raw sums, if there is such a split (no zero added: −0 stays −0).</summary>
    private static Row8 Add(in Row8 sums, in Row8 raw, int k, int splits) => k < splits ? sums.Plus(raw) : sums;
}

/// <summary>A thread's rows of a split tile, which its split finishes a block of row steps at a time (device code).</summary>
public interface ISplitRows
{
    /// <summary>log2 of the thread's row steps in a tile.</summary>
    int StepBits { get; }

    /// <summary>Adds the splits' sums of the thread's row in step <paramref name="step"/> and hands them to the epilogue (a row past the product's: nothing).</summary>
    void Finish(int step);
}
