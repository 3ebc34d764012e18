using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.Norm;

/// <summary>
/// Group norm in one launch that reads x once, or in two (partial sums, then the normalisation), and layer norm in one
/// (device code), generic over the storage; statistics are fp32. Both work on x − x₀, x₀ the first element of the
/// group or row. Subtracting x₀ first removes a large common offset before anything is summed, so neither
/// E[x²] − E[x]² cancellation nor the rounding of a large mean reaches the result (the *_offset100 goldens).
/// </summary>
public static class NormKernels
{
    /// <summary>
    /// Grid (chunks, N·groups): group (n, g) is split into <paramref name="chunks"/> ranges; each block writes the sums
    /// of (x − x₀) and (x − x₀)² over its range to partials[((n·G + g)·chunks + chunk)·2 + {0, 1}].
    /// <paramref name="eights"/> = 1: eight adjacent elements per thread and step, one 16-byte load for fp16 (the group
    /// length is a multiple of 8 and x starts 16-byte aligned: the launcher checks), so ranges are multiples of 8.
    /// </summary>
    public static void GroupNormPartials<T>(T x, ArrayView<float> partials, GroupNormShape s, int chunks, SpecializedValue<int> eights)
        where T : struct, IElementView<T>
    {
        var scratch = SharedMemory.Allocate<float>(64);
        int group = Grid.IdxY, length = s.GroupLength;
        int chunkLength = PartialLength(length, chunks);
        int start = group * length + Grid.IdxX * chunkLength;
        int end = group * length + XMath.Min((Grid.IdxX + 1) * chunkLength, length);
        var sums = Sums(x, start, end, x.Load(group * length), Width(eights), scratch);
        if (Group.IsFirstThread)
        {
            partials[(group * chunks + Grid.IdxX) * 2] = sums.Deviations;
            partials[(group * chunks + Grid.IdxX) * 2 + 1] = sums.Squares;
        }
    }

    /// <summary>Elements of a group that one partial-sum block reduces: a multiple of 8, so that eight-element steps never straddle two blocks.</summary>
    private static int PartialLength(int groupLength, int chunks) => ((groupLength + chunks - 1) / chunks + 7) & ~7;

    /// <summary>
    /// Grid (blocks per group, N·groups): combines the partial sums of its group, then normalises a slab of it.
    /// <paramref name="eights"/> = 1: eight adjacent elements per thread and step, loaded and stored 16 bytes at a time
    /// for fp16 (the spatial size is a multiple of 8, so all eight lie in one channel, and x and y start 16-byte
    /// aligned: the launcher checks), which divides the index arithmetic and the memory instructions per element by 8.
    /// <paramref name="silu"/> is the shape's <see cref="GroupNormShape.FuseSilu"/>, a kernel constant so that no element tests it.
    /// The groups go in the reverse order of <see cref="GroupNormPartials"/>: blocks start roughly in grid order, so the
    /// first groups normalised are those whose elements the partial sums read last, still in L2 when the tensor is
    /// larger than it (the VAE's norms at 512²: 67 MB).
    /// </summary>
    public static void GroupNormApply<T>(T x, T gamma, T beta, ArrayView<float> partials, T y, GroupNormShape s, int chunks,
        SpecializedValue<int> eights, SpecializedValue<int> silu)
        where T : struct, IElementView<T>
    {
        s = s with { FuseSilu = silu };
        int group = Grid.DimY - 1 - Grid.IdxY;
        var statistics = CombinedStatistics(x, partials, s, group, chunks);
        Normalize(x, gamma, beta, y, s, statistics, group, Grid.IdxX * Group.DimX + Group.IdxX, Grid.DimX * Group.DimX, Width(eights));
    }

    /// <summary>The statistics of group <paramref name="group"/> (n·G + g) from its <paramref name="chunks"/> partial sums (<see cref="GroupNormPartials"/>).</summary>
    internal static Statistics CombinedStatistics<T>(T x, ArrayView<float> partials, GroupNormShape s, int group, int chunks)
        where T : struct, IElementView<T>
    {
        float sum = 0f, squares = 0f;
        for (int c = 0; c < chunks; c++)
        {
            sum += partials[(group * chunks + c) * 2];
            squares += partials[(group * chunks + c) * 2 + 1];
        }
        return Statistics.Of(x.Load(group * s.GroupLength), new(sum, squares), 1f / s.GroupLength, s.Epsilon);
    }

    /// <summary>Steps of eight elements (or one) a thread of <see cref="GroupNormOnePass"/> holds in registers.</summary>
    public const int OnePassSteps = 8;

    /// <summary>
    /// Group norm in one launch that reads x once (<see cref="GroupNormPartials"/> and <see cref="GroupNormApply"/> read
    /// it twice: three bytes moved for the two a norm needs). Grid (P, 1) of blocks that are all resident at once (the
    /// launcher's P, at least <paramref name="parts"/>), taking tickets by <see cref="OnePassTickets"/>, whose unit is a
    /// group: ticket t is slice t mod parts of group t / parts. The block loads its slice into registers
    /// (<see cref="OnePassSteps"/> steps a thread), publishes the slice's sums, waits for the group's other slices, adds
    /// the group's sums and normalises the slice it holds. counters holds N·G + 1 ints.
    /// <paramref name="eights"/> and <paramref name="silu"/> as in <see cref="GroupNormApply"/>.
    /// </summary>
    public static void GroupNormOnePass<T>(T x, T gamma, T beta, T y, ArrayView<float> partials, ArrayView<int> counters, GroupNormShape s,
        int parts, SpecializedValue<int> eights, SpecializedValue<int> silu)
        where T : struct, IElementView<T>
    {
        s = s with { FuseSilu = silu };
        var scratch = SharedMemory.Allocate<float>(64);
        var ticketSlot = SharedMemory.Allocate<int>(1);
        // Per kernel, out of the ticket loop (ILGPU would otherwise divide in it): tickets < 2²⁴ and parts, groups < 2¹⁶
        // (the launcher's bounds), group lengths < 2²⁴.
        int width = Width(eights), groups = s.N * s.Groups, tickets = groups * parts;
        int length = LoopInvariant.Keep(s.GroupLength), channels = LoopInvariant.Keep(s.ChannelsPerGroup);
        int step = width * Group.DimX, sliceLength = OnePassSteps * step;
        float inverseLength = LoopInvariant.Keep(1f / length);
        ulong byParts = LoopInvariant.Keep(SmallDivision.Multiplier(parts)), byGroups = LoopInvariant.Keep(SmallDivision.Multiplier(s.Groups));
        ulong bySpatial = LoopInvariant.Keep(SmallDivision.WideMultiplier(s.Spatial));
        int warp = LoopInvariant.Keep(Warp.WarpIdx);   // a division by 32 that ptxas does not shorten
        for (;;)
        {
            int ticket = OnePassTickets.Next(counters, groups, tickets, ticketSlot);
            if (ticket < 0) return;
            int group = SmallDivision.Quotient(ticket, byParts), sliceStart = (ticket - group * parts) * sliceLength, start = group * length;
            float shift = x.Load(start);
            var slice = HeldSlice.Load(x, start, sliceStart + width * Group.IdxX, XMath.Min(sliceStart + sliceLength, length), step, shift, width);
            var sums = BlockSums(slice.Sums(), warp, scratch);
            if (Group.IsFirstThread)
            {
                partials[ticket * 2] = sums.Deviations;
                partials[ticket * 2 + 1] = sums.Squares;
            }
            OnePassTickets.Arrive(counters, group, parts);
            OnePassTickets.Sum(partials, counters, group, parts, 2, warp, scratch);
            var statistics = Statistics.Of(shift, new(scratch[0], scratch[1]), inverseLength, s.Epsilon);
            int firstChannel = (group - SmallDivision.Quotient(group, byGroups) * s.Groups) * channels;
            slice.Normalize(y, gamma, beta, s.FuseSilu, statistics, firstChannel, bySpatial, width);
        }
    }

    /// <summary>
    /// Both sums over the block, every thread getting them, with one pair of barriers (every thread must call it);
    /// <paramref name="warp"/> is the thread's warp, <paramref name="scratch"/> shared memory of two floats a warp.
    /// </summary>
    private static GroupSums BlockSums(GroupSums own, int warp, ArrayView<float> scratch)
    {
        float deviations = Reductions.WarpSum(own.Deviations, Warp.WarpSize), squares = Reductions.WarpSum(own.Squares, Warp.WarpSize);
        if (Warp.IsFirstLane)
        {
            scratch[2 * warp] = deviations;
            scratch[2 * warp + 1] = squares;
        }
        Group.Barrier();
        bool held = Warp.LaneIdx * Warp.WarpSize < Group.DimX;   // lane l holds warp l's sums, if there is a warp l
        deviations = Reductions.WarpSum(held ? scratch[2 * Warp.LaneIdx] : 0f, Warp.WarpSize);
        squares = Reductions.WarpSum(held ? scratch[2 * Warp.LaneIdx + 1] : 0f, Warp.WarpSize);
        Group.Barrier();
        return new(deviations, squares);
    }

    /// <summary>
    /// A thread's <see cref="OnePassSteps"/> steps of a slice of one group, held in registers from load to store as
    /// deviations from the group's first element x₀: elements first + k·step of the group (k = 0 … 7), those before the
    /// slice's end (the others 0). Spelled out step by step, as <see cref="Row8"/> is, to stay in registers.
    /// </summary>
    private struct HeldSlice
    {
        private Row8 _0, _1, _2, _3, _4, _5, _6, _7;
        private int _start, _first, _end, _step;

        public static HeldSlice Load<T>(T x, int start, int first, int end, int step, float shift, int width) where T : struct, IElementView<T>
        {
            var held = new HeldSlice { _start = start, _first = first, _end = end, _step = step };
            held._0 = held.Fetch(x, 0, shift, width);
            held._1 = held.Fetch(x, 1, shift, width);
            held._2 = held.Fetch(x, 2, shift, width);
            held._3 = held.Fetch(x, 3, shift, width);
            held._4 = held.Fetch(x, 4, shift, width);
            held._5 = held.Fetch(x, 5, shift, width);
            held._6 = held.Fetch(x, 6, shift, width);
            held._7 = held.Fetch(x, 7, shift, width);
            return held;
        }

        private readonly int Index(int k) => _first + k * _step;

        private readonly Row8 Fetch<T>(T x, int k, float shift, int width) where T : struct, IElementView<T> =>
            Index(k) < _end ? Row8.LoadStep(x, _start + Index(k), width).Plus(-shift).Prefix(width) : default;

        /// <summary>This thread's sums of x − x₀ and its square.</summary>
        public readonly GroupSums Sums()
        {
            var sum = _0.Plus(_1).Plus(_2).Plus(_3).Plus(_4).Plus(_5).Plus(_6).Plus(_7);
            var squares = _0.Times(_0).Plus(_1.Times(_1)).Plus(_2.Times(_2)).Plus(_3.Times(_3))
                .Plus(_4.Times(_4)).Plus(_5.Times(_5)).Plus(_6.Times(_6)).Plus(_7.Times(_7));
            return new(sum.Sum(), squares.Sum());
        }

        /// <summary>Normalises and stores the steps; <paramref name="firstChannel"/> is the group's first channel, <paramref name="bySpatial"/> the spatial size's <see cref="SmallDivision.WideMultiplier"/>.</summary>
        public readonly void Normalize<T>(T y, T gamma, T beta, int silu, Statistics statistics, int firstChannel, ulong bySpatial, int width)
            where T : struct, IElementView<T>
        {
            var to = new NormalizedSteps<T>(y, gamma, beta, silu, statistics, firstChannel, bySpatial, width);
            Store(to, _0, 0);
            Store(to, _1, 1);
            Store(to, _2, 2);
            Store(to, _3, 3);
            Store(to, _4, 4);
            Store(to, _5, 5);
            Store(to, _6, 6);
            Store(to, _7, 7);
        }

        private readonly void Store<T>(in NormalizedSteps<T> to, in Row8 deviations, int k) where T : struct, IElementView<T>
        {
            if (Index(k) < _end) to.Store(deviations, _start, Index(k));
        }
    }

    /// <summary>Where and how <see cref="HeldSlice.Normalize"/> stores: the normalisation of a group and its output.</summary>
    private readonly struct NormalizedSteps<T>(T y, T gamma, T beta, int silu, Statistics statistics, int firstChannel, ulong bySpatial, int width)
        where T : struct, IElementView<T>
    {
        /// <summary>Normalises the step at <paramref name="index"/> of the group starting at <paramref name="start"/>, given its deviations from x₀.</summary>
        public void Store(in Row8 deviations, int start, int index)
        {
            int channel = firstChannel + SmallDivision.WideQuotient(index, bySpatial);
            statistics.ApplyToDeviations(deviations, statistics.InvStd * gamma.Load(channel), beta.Load(channel), silu, width)
                .StoreStep(y, start + index, width);
        }
    }

    private static int Width(SpecializedValue<int> eights) => eights.Value != 0 ? 8 : 1;

    /// <summary>The group's sums of x − <paramref name="shift"/> and its square over [start, end), in steps of <paramref name="width"/>; every thread gets them.</summary>
    private static GroupSums Sums<T>(T x, int start, int end, float shift, int width, ArrayView<float> scratch) where T : struct, IElementView<T>
    {
        float sum = 0f, squares = 0f;
        for (int i = start + width * Group.IdxX; i < end; i += width * Group.DimX)
        {
            var d = Row8.LoadStep(x, i, width).Plus(-shift).Prefix(width);
            sum += d.Sum();
            squares += d.Times(d).Sum();
        }
        return BlockSums(new(sum, squares), Warp.WarpIdx, scratch);
    }

    /// <summary>Sums of x − x₀ and of its square.</summary>
    internal readonly record struct GroupSums(float Deviations, float Squares);

    /// <summary>Normalises this thread's steps of group <paramref name="group"/> (n·G + g): elements thread·width, (thread + threads)·width, … of it.</summary>
    private static void Normalize<T>(T x, T gamma, T beta, T y, GroupNormShape s, Statistics statistics, int group, int thread, int threads, int width)
        where T : struct, IElementView<T>
    {
        // Kept out of the loop: ILGPU would move the group length (a division: C / groups · spatial) into its test.
        int length = LoopInvariant.Keep(s.GroupLength), start = group * length;
        int firstChannel = LoopInvariant.Keep(group % s.Groups * s.ChannelsPerGroup);
        for (var walk = new StrideWalk(width * thread, width * threads, s.Spatial); walk.Index < length; walk.Next())
        {
            int channel = firstChannel + walk.Quotient;
            float scale = statistics.InvStd * gamma.Load(channel), bias = beta.Load(channel);
            statistics.Apply(Row8.LoadStep(x, start + walk.Index, width), scale, bias, s.FuseSilu, width).StoreStep(y, start + walk.Index, width);
        }
    }

    /// <summary>A group's statistics: its first element x₀, the mean of x − x₀ and 1/σ.</summary>
    internal readonly record struct Statistics(float Shift, float MeanShifted, float InvStd)
    {
        /// <summary>From the group's sums; kept out of the loops that use them (ILGPU would otherwise recompute them for every element).</summary>
        public static Statistics Of(float shift, GroupSums sums, float inverseLength, float epsilon)
        {
            float meanShifted = sums.Deviations * inverseLength;
            float variance = XMath.Max(sums.Squares * inverseLength - meanShifted * meanShifted, 0f);
            return new(LoopInvariant.Keep(shift), LoopInvariant.Keep(meanShifted), LoopInvariant.Keep(1f / XMath.Sqrt(variance + epsilon)));
        }

        /// <summary>
        /// Given x − x₀: x − x₀ − mean(x − x₀) (the large mean itself is never rounded), scaled, shifted, SiLU when asked.
        /// </summary>
        private float ApplyToDeviation(float deviation, float scale, float bias, int silu)
        {
            float v = (deviation - MeanShifted) * scale + bias;
            return silu != 0 ? Silu(v) : v;
        }

        /// <summary>The elements of a step of <paramref name="width"/> (<see cref="Row8.LoadStep"/>), the others left 0.</summary>
        public Row8 Apply(in Row8 x, float scale, float bias, int silu, int width) => ApplyToDeviations(x.Plus(-Shift), scale, bias, silu, width);

        /// <summary>As <see cref="Apply"/> of x, given x − x₀.</summary>
        public Row8 ApplyToDeviations(in Row8 d, float scale, float bias, int silu, int width) => width == 8
            ? new()
            {
                V0 = ApplyToDeviation(d.V0, scale, bias, silu), V1 = ApplyToDeviation(d.V1, scale, bias, silu),
                V2 = ApplyToDeviation(d.V2, scale, bias, silu), V3 = ApplyToDeviation(d.V3, scale, bias, silu),
                V4 = ApplyToDeviation(d.V4, scale, bias, silu), V5 = ApplyToDeviation(d.V5, scale, bias, silu),
                V6 = ApplyToDeviation(d.V6, scale, bias, silu), V7 = ApplyToDeviation(d.V7, scale, bias, silu),
            }
            : new() { V0 = ApplyToDeviation(d.V0, scale, bias, silu) };

        /// <summary>
        /// On CUDA v·rcp(1 + 2^(−v·log₂e)) with the hardware exponential and reciprocal (ex2.approx, rcp.approx, ~1–2
        /// ulp, subnormals flushed): the IEEE division costs ~15 instructions and a slow-path branch per element, and
        /// MathF.Exp's subnormal scaling 3 more, more than this memory-bound loop can spend (ptxas keeps the asm outputs
        /// in registers; PtxasTests check no local memory is left). Elsewhere exactly ActivationMath.Silu.
        /// </summary>
        private static float Silu(float v)
        {
            if (!CudaAsm.IsSupported) return ActivationMath.Silu(v);
            CudaAsm.Emit("ex2.approx.ftz.f32 %0, %1;", out float exp, v * -Log2E);
            CudaAsm.Emit("rcp.approx.ftz.f32 %0, %1;", out float reciprocal, 1f + exp);
            return v * reciprocal;
        }

        private const float Log2E = 1.44269504088896341f;
    }

    /// <summary>
    /// One warp per row of <see cref="LayerNormShape.Features"/>, warp-shuffle sums: the mean of x − x₀ (x₀ the row's
    /// first element), then the squared deviations from it. <paramref name="eights"/> = 1: eight adjacent elements per
    /// lane and step, 16 bytes at a time for fp16 (features a multiple of 8, every tensor 16-byte aligned: the launcher
    /// checks).
    /// </summary>
    public static void LayerNorm<T>(T x, T gamma, T beta, T y, LayerNormShape s, SpecializedValue<int> eights) where T : struct, IElementView<T>
    {
        int row = Grid.IdxX * (Group.DimX / Warp.WarpSize) + Warp.WarpIdx;
        if (row >= s.Rows) return;
        int start = row * s.Features, width = eights.Value != 0 ? 8 : 1, first = width * Warp.LaneIdx, step = width * Warp.WarpSize;
        float shift = x.Load(start), sum = 0f;
        for (int i = first; i < s.Features; i += step) sum += Row8.LoadStep(x, start + i, width).Plus(-shift).Prefix(width).Sum();
        float mean = LoopInvariant.Keep(Reductions.WarpSum(sum, Warp.WarpSize) / s.Features);
        float squares = 0f;
        for (int i = first; i < s.Features; i += step)
        {
            var d = Row8.LoadStep(x, start + i, width).Plus(-shift).Plus(-mean).Prefix(width);
            squares += d.Times(d).Sum();
        }
        // Kept out of the loop below (ILGPU would otherwise move the division and square root into it).
        float invStd = LoopInvariant.Keep(1f / XMath.Sqrt(Reductions.WarpSum(squares, Warp.WarpSize) / s.Features + s.Epsilon));
        for (int i = first; i < s.Features; i += step)
            Row8.LoadStep(x, start + i, width).Plus(-shift).Plus(-mean).Times(invStd).Times(Row8.LoadStep(gamma, i, width))
                .Plus(Row8.LoadStep(beta, i, width)).StoreStep(y, start + i, width);
    }
}
