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
    /// </summary>
    public Row8 Sums(int at, int splitStride, int count)
    {
        var sums = default(Row8);
        var raw = new F32View(Workspace);
        for (int k = 0; k < Split.Count; k++) sums = sums.Plus(Row8.Load(raw, at + k * splitStride, count));
        return sums;
    }
}
