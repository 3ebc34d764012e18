using ILGPU;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// A split reduction that its product kernel finishes itself (device code): each split stores its raw sums of a tile
/// in the workspace and counts itself in the tile's counter; the split that arrives last adds every split's sums in
/// split order (the order the separate reduce kernel used, so the result is the same) and applies the epilogue, and
/// resets the counter for the next launch. This saves a reduce launch per split product (147 of the 218 GEMMs and
/// convolutions of an SD 1.5 step at 512² on an H200: the 32×32 and smaller levels and the time-embedding
/// projections). A product splits only when it has fewer tiles than the device has multiprocessors, so that many
/// counters suffice.
/// </summary>
public readonly struct SplitReduction(ArrayView<float> workspace, ArrayView<int> counters, SplitK split)
{
    /// <summary>The splits' raw sums, split after split.</summary>
    public readonly ArrayView<float> Workspace = workspace;

    /// <summary>One counter per output tile, zero between launches.</summary>
    public readonly ArrayView<int> Counters = counters;

    public readonly SplitK Split = split;

    /// <summary>
    /// Whether this group, whose raw sums of tile <paramref name="tile"/> are stored, is the tile's last split to
    /// arrive (then every other split's sums are visible to it). Every thread of the group calls it.
    /// </summary>
    public bool ArrivesLast(int tile)
    {
        MemoryFence.DeviceLevel();   // this thread's sums reach the device before the tile counts them
        Group.Barrier();
        bool last = Group.IdxX == 0 && Atomic.Add(ref Counters[tile], 1) == Split.Count - 1;
        if (!Group.BarrierOr(last)) return false;
        MemoryFence.DeviceLevel();   // the other splits' sums are read after their counts
        if (Group.IdxX == 0) Counters[tile] = 0;
        return true;
    }

    /// <summary>
    /// The sums over the splits of the <paramref name="count"/> (≤ 8) raw sums at <paramref name="at"/> of split 0,
    /// <paramref name="splitStride"/> apart from split to split, added in split order; zero past <paramref name="count"/>.
    /// With <paramref name="chunked"/> (at and the stride multiples of 8, count 8 or 0: a kernel constant) a split's
    /// eight are two 16-byte loads. The last split does this alone for its whole tile, the tail of every split product,
    /// and it waits on L2's latency: so eight splits' loads are issued before their sums wait for any (one split at a
    /// time, a thread had 32 bytes in flight, and a tile of 6 splits took 96 round trips to L2 a thread; now 16).
    /// </summary>
    public Row8 Sums(int at, int splitStride, int count, bool chunked)
    {
        var sums = default(Row8);
        if (chunked && count == 0) return sums;   // columns past the product's: nothing to read
        for (int k = 0; k < Split.Count; k += 8)
        {
            Row8 p0 = Raw(at, splitStride, k, count, chunked), p1 = Raw(at, splitStride, k + 1, count, chunked);
            Row8 p2 = Raw(at, splitStride, k + 2, count, chunked), p3 = Raw(at, splitStride, k + 3, count, chunked);
            Row8 p4 = Raw(at, splitStride, k + 4, count, chunked), p5 = Raw(at, splitStride, k + 5, count, chunked);
            Row8 p6 = Raw(at, splitStride, k + 6, count, chunked), p7 = Raw(at, splitStride, k + 7, count, chunked);
            sums = Add(Add(Add(Add(sums, p0, k), p1, k + 1), p2, k + 2), p3, k + 3);
            sums = Add(Add(Add(Add(sums, p4, k + 4), p5, k + 5), p6, k + 6), p7, k + 7);
        }
        return sums;
    }

    /// <summary>Split <paramref name="k"/>'s raw sums at <paramref name="at"/> (all eight where <paramref name="chunked"/>); none past the last split.</summary>
    private Row8 Raw(int at, int splitStride, int k, int count, bool chunked)
    {
        if (k >= Split.Count) return default;
        var raw = new F32View(Workspace);
        int first = at + k * splitStride;
        return chunked ? raw.LoadEight(first) : Row8.Load(raw, first, count);
    }

    /// <summary>sums + split <paramref name="k"/>'s raw sums, if there is such a split (no zero added: −0 stays −0).</summary>
    private Row8 Add(in Row8 sums, in Row8 raw, int k) => k < Split.Count ? sums.Plus(raw) : sums;
}
