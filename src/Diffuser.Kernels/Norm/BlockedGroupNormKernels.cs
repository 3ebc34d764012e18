using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Norm;

/// <summary>
/// Group norm (+ SiLU) of a dense x [N, C, H·W] written channel-blocked (<see cref="ChannelBlocks"/>) for the
/// tensor-core convolution that follows, which then copies a pixel's 8 channels as one 16-byte row. The sums are
/// <see cref="NormKernels.GroupNormPartials"/>'s; the normalisation is <see cref="NormKernels.GroupNormApply"/>'s
/// arithmetic (the same statistics and the same operations per element), so the two outputs agree to fp16 rounding.
/// </summary>
public static class BlockedGroupNormKernels
{
    /// <summary>Consecutive pixels a thread normalises in each of its block's 8 channels: one 16-byte fp16 load a channel.</summary>
    public const int PixelsPerThread = 8;

    /// <summary>
    /// Grid (pixel blocks, N·C/8), threads a multiple of 32: block (b, N·C/8 − 1 − (n·C/8 + cb)) normalises
    /// channels 8·cb … 8·cb + 7 of image n, thread t pixels p … p + 7 with p = 8·(b·threads + t). The first 8 threads
    /// find one channel's statistics each (from its group's partial sums: a block of 8 channels may straddle groups)
    /// and leave them in shared memory, then each thread loads its 8 pixels of each channel (8 16-byte loads in fp16,
    /// adjacent across the threads), normalises them and stores each pixel's 8 channels (8 16-byte stores): the
    /// transpose stays in registers, spelled out (<see cref="Row8"/>). C and H·W multiples of 8, x and y 16-byte
    /// aligned: the launcher checks. <paramref name="silu"/> is the shape's <see cref="GroupNormShape.FuseSilu"/>, a
    /// kernel constant. The channel blocks go in reverse grid order, as <see cref="NormKernels.GroupNormApply"/>'s
    /// groups do (the channels the partial sums read last are the likeliest still in L2).
    /// </summary>
    public static void GroupNormApplyBlocked<T>(T x, T gamma, T beta, ArrayView<float> partials, T y, GroupNormShape s, int chunks,
        SpecializedValue<int> silu)
        where T : struct, IElementView<T>
    {
        // Channel k of the block: (shift, mean of x − shift, scale, bias).
        var channels = SharedMemory.Allocate<Float4>(ChannelBlocks.Width);
        // Channel block n·C/8 + cb: its first channel is n·C + 8·cb of the dense [N·C] channels.
        int block = Grid.DimY - 1 - Grid.IdxY, firstChannel = ChannelBlocks.Width * block, plane = s.Spatial;
        if (Group.IdxX < ChannelBlocks.Width)
        {
            int channel = firstChannel + Group.IdxX;   // n·C + c: its group n·G + g is channel / (C/G)
            var statistics = NormKernels.CombinedStatistics(x, partials, s, LoopInvariant.Keep(channel / s.ChannelsPerGroup), chunks);
            int c = channel % s.C;
            channels[Group.IdxX] = new Float4
            {
                X = statistics.Shift, Y = statistics.MeanShifted, Z = statistics.InvStd * gamma.Load(c), W = beta.Load(c),
            };
        }
        Group.Barrier();
        int pixel = PixelsPerThread * (Grid.IdxX * Group.DimX + Group.IdxX);
        if (pixel >= plane) return;
        int from = firstChannel * plane + pixel;
        new PixelTile
        {
            C0 = Normalized(x, channels[0], from, silu), C1 = Normalized(x, channels[1], from + plane, silu),
            C2 = Normalized(x, channels[2], from + 2 * plane, silu), C3 = Normalized(x, channels[3], from + 3 * plane, silu),
            C4 = Normalized(x, channels[4], from + 4 * plane, silu), C5 = Normalized(x, channels[5], from + 5 * plane, silu),
            C6 = Normalized(x, channels[6], from + 6 * plane, silu), C7 = Normalized(x, channels[7], from + 7 * plane, silu),
        }.Store(y, ChannelBlocks.Width * (block * plane + pixel));   // ChannelBlocks.Offset(n, 8·cb, pixel, C, plane)
    }

    /// <summary>
    /// As <see cref="GroupNormApplyBlocked"/> after the partial sums, in one launch that reads x once, as
    /// <see cref="NormKernels.GroupNormOnePass"/> does for the dense layout: a grid of blocks that all run at once takes
    /// tickets by <see cref="OnePassTickets"/>. Its unit is the fewest whole groups that are also whole blocks of 8
    /// channels: <paramref name="unitGroups"/> = 8 / gcd(C/G, 8) groups (SD's 32 groups of 320 and 640 channels: 4 and 2
    /// groups, 40 channels; of 128: 2 groups, 8 channels; else one). Its items are (channel block, 8-pixel step) pairs,
    /// block-major; slice p is items p·threads … (p + 1)·threads − 1, one a thread: 8 channels × 8 pixels loaded (8
    /// 16-byte loads, adjacent across threads) and held as deviations from their groups' first elements. C/G even and
    /// at least 4 (the launcher checks) puts a block's 8 channels in at most two groups and a unit in at most
    /// <see cref="MaxUnitGroups"/>: each thread leaves its two groups' sums in shared memory, warp g adds group g's
    /// (<see cref="SumGroup"/>; a warp takes groups g and g + warps where a small plane's blocks have fewer warps than
    /// the unit groups), the block publishes 2 sums a group of the unit, and after the wait it normalises and stores its
    /// items pixel by pixel as <see cref="GroupNormApplyBlocked"/> does. counters holds N·C / (unitGroups·C/G) + 1 ints.
    /// </summary>
    public static void GroupNormOnePassBlocked<T>(T x, T gamma, T beta, T y, ArrayView<float> partials, ArrayView<int> counters,
        GroupNormShape s, int unitGroups, int parts, SpecializedValue<int> silu)
        where T : struct, IElementView<T>
    {
        var scratch = SharedMemory.Allocate<float>(2 * MaxUnitGroups);
        var ticketSlot = SharedMemory.Allocate<int>(1);
        // Each thread's sums of its two groups, and the first one's place in the unit.
        var threadSums = SharedMemory.Allocate<Float4>(LaunchGeometry.ElementGroup);
        var threadGroups = SharedMemory.Allocate<int>(LaunchGeometry.ElementGroup);
        // Per kernel, out of the ticket loop (ILGPU would otherwise divide in it): items and channels < 2²⁴, parts,
        // steps and channels a group < 2¹⁶ (the launcher's bounds).
        int plane = s.Spatial, channels = LoopInvariant.Keep(s.ChannelsPerGroup), length = LoopInvariant.Keep(s.GroupLength);
        int unitChannels = unitGroups * channels, steps = plane / PixelsPerThread;
        int items = unitChannels / ChannelBlocks.Width * steps, units = LoopInvariant.Keep(s.N * s.C / unitChannels), tickets = units * parts;
        float inverseLength = LoopInvariant.Keep(1f / length);
        ulong byParts = LoopInvariant.Keep(SmallDivision.Multiplier(parts)), bySteps = LoopInvariant.Keep(SmallDivision.Multiplier(steps));
        ulong byChannels = LoopInvariant.Keep(SmallDivision.Multiplier(channels)), byC = LoopInvariant.Keep(SmallDivision.Multiplier(s.C));
        int warp = LoopInvariant.Keep(Warp.WarpIdx), warps = LoopInvariant.Keep(Group.DimX / Warp.WarpSize);   // divisions by 32 that ptxas does not shorten
        for (;;)
        {
            int ticket = OnePassTickets.Next(counters, units, tickets, ticketSlot);
            if (ticket < 0) return;
            int unit = SmallDivision.Quotient(ticket, byParts), item = (ticket - unit * parts) * Group.DimX + Group.IdxX;
            bool held = item < items;
            int block = held ? SmallDivision.Quotient(item, bySteps) : 0, pixel = held ? PixelsPerThread * (item - block * steps) : 0;
            // The item's first channel (n·C + c), its group and the channel (0 … 8) from which on the next group's are.
            int channel = unit * unitChannels + ChannelBlocks.Width * block, low = SmallDivision.Quotient(channel, byChannels);
            int split = (low + 1) * channels - channel, lowInUnit = low - unit * unitGroups, highInUnit = XMath.Min(lowInUnit + 1, unitGroups - 1);
            float lowShift = x.Load(low * length), highShift = x.Load((low - lowInUnit + highInUnit) * length);
            var tile = held ? PixelTile.Deviations(x, channel * plane + pixel, plane, lowShift, highShift, split) : default;
            var (lowSums, highSums) = tile.Sums(split);
            threadSums[Group.IdxX] = new Float4 { X = lowSums.Deviations, Y = lowSums.Squares, Z = highSums.Deviations, W = highSums.Squares };
            threadGroups[Group.IdxX] = lowInUnit;
            Group.Barrier();
            for (int g = warp; g < unitGroups; g += warps) SumGroup(threadSums, threadGroups, g, scratch);
            Group.Barrier();
            if (Group.IsFirstThread)
                for (int v = 0; v < 2 * unitGroups; v++) partials[ticket * 2 * unitGroups + v] = scratch[v];
            OnePassTickets.Arrive(counters, unit, parts);
            OnePassTickets.Sum(partials, counters, unit, parts, 2 * unitGroups, warp, scratch);
            var lowStatistics = NormKernels.Statistics.Of(lowShift, new(scratch[2 * lowInUnit], scratch[2 * lowInUnit + 1]), inverseLength, s.Epsilon);
            var highStatistics = NormKernels.Statistics.Of(highShift, new(scratch[2 * highInUnit], scratch[2 * highInUnit + 1]), inverseLength, s.Epsilon);
            if (held)
                tile.Normalized(lowStatistics, highStatistics, split, gamma, beta, channel - SmallDivision.Quotient(channel, byC) * s.C, silu)
                    .Store(y, channel * plane + ChannelBlocks.Width * pixel);   // ChannelBlocks.Offset(n, c, pixel, C, plane)
        }
    }

    /// <summary>Groups a unit of <see cref="GroupNormOnePassBlocked"/> holds at most.</summary>
    public const int MaxUnitGroups = 4;

    /// <summary>
    /// A warp adds the block's sums of group <paramref name="group"/> of the unit, thread by thread in order (each
    /// thread's low group is threadGroups[t], its high one the next), into totals[2·group …].
    /// </summary>
    private static void SumGroup(ArrayView<Float4> threadSums, ArrayView<int> threadGroups, int group, ArrayView<float> totals)
    {
        float deviations = 0f, squares = 0f;
        for (int t = Warp.LaneIdx; t < Group.DimX; t += Warp.WarpSize)
        {
            var sums = threadSums[t];
            int low = threadGroups[t];
            deviations += low == group ? sums.X : low + 1 == group ? sums.Z : 0f;
            squares += low == group ? sums.Y : low + 1 == group ? sums.W : 0f;
        }
        deviations = Reductions.WarpSum(deviations, Warp.WarpSize);
        squares = Reductions.WarpSum(squares, Warp.WarpSize);
        if (Warp.IsFirstLane)
        {
            totals[2 * group] = deviations;
            totals[2 * group + 1] = squares;
        }
    }

    /// <summary>
    /// Eight pixels of a channel as <see cref="NormKernels.GroupNormApply"/> normalises them; <paramref name="channel"/>
    /// holds what the block found (the scale in <see cref="NormKernels.Statistics.InvStd"/>'s place, which Apply does not read).
    /// </summary>
    private static Row8 Normalized<T>(T x, Float4 channel, int index, int silu) where T : struct, IElementView<T> =>
        new NormKernels.Statistics(channel.X, channel.Y, channel.Z).Apply(Row8.LoadStep(x, index, 8), channel.Z, channel.W, silu, 8);

    /// <summary>
    /// A thread's 8 channels × 8 pixels: channel k's pixels in Ck; outputs stored pixel by pixel, a pixel's 8 channels one
    /// 16-byte row. In <see cref="GroupNormOnePassBlocked"/> first the inputs as deviations, channels below a split from
    /// one group's first element, the others from the next group's.
    /// </summary>
    private struct PixelTile
    {
        public Row8 C0, C1, C2, C3, C4, C5, C6, C7;

        /// <summary>x[index + k·plane …] (8 pixels of channel k) less lowShift for k &lt; split, else highShift.</summary>
        public static PixelTile Deviations<T>(T x, int index, int plane, float lowShift, float highShift, int split) where T : struct, IElementView<T> => new()
        {
            C0 = Row8.LoadStep(x, index, 8).Plus(-lowShift),
            C1 = Row8.LoadStep(x, index + plane, 8).Plus(1 < split ? -lowShift : -highShift),
            C2 = Row8.LoadStep(x, index + 2 * plane, 8).Plus(2 < split ? -lowShift : -highShift),
            C3 = Row8.LoadStep(x, index + 3 * plane, 8).Plus(3 < split ? -lowShift : -highShift),
            C4 = Row8.LoadStep(x, index + 4 * plane, 8).Plus(4 < split ? -lowShift : -highShift),
            C5 = Row8.LoadStep(x, index + 5 * plane, 8).Plus(5 < split ? -lowShift : -highShift),
            C6 = Row8.LoadStep(x, index + 6 * plane, 8).Plus(6 < split ? -lowShift : -highShift),
            C7 = Row8.LoadStep(x, index + 7 * plane, 8).Plus(7 < split ? -lowShift : -highShift),
        };

        /// <summary>The sums of the deviations and their squares over the channels below <paramref name="split"/>, and over the others.</summary>
        public readonly (NormKernels.GroupSums Low, NormKernels.GroupSums High) Sums(int split)
        {
            float lowSum = C0.Sum(), lowSquares = C0.Times(C0).Sum(), highSum = 0f, highSquares = 0f;
            Add(C1, 1 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C2, 2 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C3, 3 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C4, 4 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C5, 5 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C6, 6 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            Add(C7, 7 < split, ref lowSum, ref lowSquares, ref highSum, ref highSquares);
            return (new(lowSum, lowSquares), new(highSum, highSquares));
        }

        private static void Add(in Row8 channel, bool low, ref float lowSum, ref float lowSquares, ref float highSum, ref float highSquares)
        {
            float sum = channel.Sum(), squares = channel.Times(channel).Sum();
            if (low)
            {
                lowSum += sum;
                lowSquares += squares;
            }
            else
            {
                highSum += sum;
                highSquares += squares;
            }
        }

        /// <summary>The channels normalised, c the first one's channel in gamma and beta (channels below <paramref name="split"/> by the low group's statistics).</summary>
        public readonly PixelTile Normalized<T>(NormKernels.Statistics low, NormKernels.Statistics high, int split, T gamma, T beta, int c, int silu)
            where T : struct, IElementView<T> => new()
        {
            C0 = Normalized(C0, low, gamma, beta, c, silu),
            C1 = Normalized(C1, 1 < split ? low : high, gamma, beta, c + 1, silu),
            C2 = Normalized(C2, 2 < split ? low : high, gamma, beta, c + 2, silu),
            C3 = Normalized(C3, 3 < split ? low : high, gamma, beta, c + 3, silu),
            C4 = Normalized(C4, 4 < split ? low : high, gamma, beta, c + 4, silu),
            C5 = Normalized(C5, 5 < split ? low : high, gamma, beta, c + 5, silu),
            C6 = Normalized(C6, 6 < split ? low : high, gamma, beta, c + 6, silu),
            C7 = Normalized(C7, 7 < split ? low : high, gamma, beta, c + 7, silu),
        };

        private static Row8 Normalized<T>(in Row8 deviations, NormKernels.Statistics statistics, T gamma, T beta, int c, int silu)
            where T : struct, IElementView<T> =>
            statistics.ApplyToDeviations(deviations, statistics.InvStd * gamma.Load(c), beta.Load(c), silu, 8);

        /// <summary>Stores pixel j's channels at y[index + 8·j …] (index: the first pixel's row, a multiple of 8).</summary>
        public readonly void Store<T>(T y, int index) where T : struct, IElementView<T>
        {
            new Row8 { V0 = C0.V0, V1 = C1.V0, V2 = C2.V0, V3 = C3.V0, V4 = C4.V0, V5 = C5.V0, V6 = C6.V0, V7 = C7.V0 }.StoreStep(y, index, 8);
            new Row8 { V0 = C0.V1, V1 = C1.V1, V2 = C2.V1, V3 = C3.V1, V4 = C4.V1, V5 = C5.V1, V6 = C6.V1, V7 = C7.V1 }.StoreStep(y, index + 8, 8);
            new Row8 { V0 = C0.V2, V1 = C1.V2, V2 = C2.V2, V3 = C3.V2, V4 = C4.V2, V5 = C5.V2, V6 = C6.V2, V7 = C7.V2 }.StoreStep(y, index + 16, 8);
            new Row8 { V0 = C0.V3, V1 = C1.V3, V2 = C2.V3, V3 = C3.V3, V4 = C4.V3, V5 = C5.V3, V6 = C6.V3, V7 = C7.V3 }.StoreStep(y, index + 24, 8);
            new Row8 { V0 = C0.V4, V1 = C1.V4, V2 = C2.V4, V3 = C3.V4, V4 = C4.V4, V5 = C5.V4, V6 = C6.V4, V7 = C7.V4 }.StoreStep(y, index + 32, 8);
            new Row8 { V0 = C0.V5, V1 = C1.V5, V2 = C2.V5, V3 = C3.V5, V4 = C4.V5, V5 = C5.V5, V6 = C6.V5, V7 = C7.V5 }.StoreStep(y, index + 40, 8);
            new Row8 { V0 = C0.V6, V1 = C1.V6, V2 = C2.V6, V3 = C3.V6, V4 = C4.V6, V5 = C5.V6, V6 = C6.V6, V7 = C7.V6 }.StoreStep(y, index + 48, 8);
            new Row8 { V0 = C0.V7, V1 = C1.V7, V2 = C2.V7, V3 = C3.V7, V4 = C4.V7, V5 = C5.V7, V6 = C6.V7, V7 = C7.V7 }.StoreStep(y, index + 56, 8);
        }
    }
}
