using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.Norm;

/// <summary>
/// The one-pass group norms' protocol (device code; <see cref="NormKernels.GroupNormOnePass"/>,
/// <see cref="BlockedGroupNormKernels.GroupNormOnePassBlocked"/>). A grid of blocks that all run at once takes tickets
/// in order; ticket t is slice t mod parts of unit t / parts (a unit: the groups whose statistics a slice feeds). A
/// block publishes its slice's sums (<c>values</c> floats at partials[t·values …]), waits until every slice of its
/// unit has, then adds the unit's sums in slice order, so every block of a unit gets the very same statistics. Tickets
/// go in order and a block waits only for slices of its own unit, so while the blocks that run at once are at least
/// parts, some unit can always complete: no deadlock, whatever order the hardware starts blocks in. counters[u]
/// (u &lt; units) counts unit u's arrivals, then its departures, the last to leave resetting it; counters[units]
/// hands out the tickets, reset by the block that takes the last one, so every launch starts from zeros.
/// </summary>
internal static class OnePassTickets
{
    /// <summary>The block's next ticket (every thread gets it), or −1 when none is left; <paramref name="slot"/> is one shared int.</summary>
    public static int Next(ArrayView<int> counters, int units, int tickets, ArrayView<int> slot)
    {
        if (Group.IsFirstThread) slot[0] = Atomic.Add(ref counters[units], 1);
        Group.Barrier();
        int ticket = slot[0];
        if (ticket < tickets) return ticket;
        if (Group.IsFirstThread && ticket == tickets + Grid.DimX - 1) counters[units] = 0;
        return -1;
    }

    /// <summary>Once the first thread has stored its slice's sums: counts the slice in and waits, the whole block, until every slice of the unit is.</summary>
    public static void Arrive(ArrayView<int> counters, int unit, int parts)
    {
        if (Group.IsFirstThread)
        {
            // As a grid-wide barrier is built: a fence, the count, the wait, a fence, then the group's barrier.
            MemoryFence.DeviceLevel();   // the sums reach the device before they are counted
            Atomic.Add(ref counters[unit], 1);
            while (Atomic.Add(ref counters[unit], 0) < parts) { }
            MemoryFence.DeviceLevel();   // the other slices' sums are read after their counts
        }
        Group.Barrier();
    }

    /// <summary>
    /// The unit's sums after <see cref="Arrive"/>: the first warp adds each of the <paramref name="values"/> over the
    /// slices in slice order into totals[v] (shared memory), and the block counts itself out; every thread may then read them.
    /// </summary>
    public static void Sum(ArrayView<float> partials, ArrayView<int> counters, int unit, int parts, int values, int warp, ArrayView<float> totals)
    {
        if (warp == 0)
        {
            for (int v = 0; v < values; v++)
            {
                float sum = 0f;
                for (int p = Warp.LaneIdx; p < parts; p += Warp.WarpSize) sum += partials[(unit * parts + p) * values + v];
                sum = Reductions.WarpSum(sum, Warp.WarpSize);
                if (Warp.IsFirstLane) totals[v] = sum;
            }
            if (Warp.IsFirstLane && Atomic.Add(ref counters[unit], 1) == 2 * parts - 1) counters[unit] = 0;
        }
        Group.Barrier();
    }
}
