using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Diffuser.Kernels.Norm;

/// <summary>
/// Group norm in two launches (one for a group that fits a block) and layer norm in one (device code), generic over the
/// storage; statistics are fp32. Both work on x − x₀, x₀ the first element of the
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
        var scratch = SharedMemory.Allocate<float>(32);
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
        float sum = 0f, squares = 0f;
        for (int c = 0; c < chunks; c++)
        {
            sum += partials[(group * chunks + c) * 2];
            squares += partials[(group * chunks + c) * 2 + 1];
        }
        var statistics = Statistics.Of(x.Load(group * s.GroupLength), new(sum, squares), s);
        Normalize(x, gamma, beta, y, s, statistics, group, Grid.IdxX * Group.DimX + Group.IdxX, Grid.DimX * Group.DimX, Width(eights));
    }

    /// <summary>
    /// Grid (1, N·groups): a group short enough for one block (the 16×16 and 8×8 UNet levels) takes both steps in one
    /// launch: its sums, then its normalisation (as <see cref="GroupNormPartials"/> and <see cref="GroupNormApply"/>).
    /// </summary>
    public static void GroupNormWhole<T>(T x, T gamma, T beta, T y, GroupNormShape s, SpecializedValue<int> eights, SpecializedValue<int> silu)
        where T : struct, IElementView<T>
    {
        s = s with { FuseSilu = silu };
        var scratch = SharedMemory.Allocate<float>(32);
        int start = Grid.IdxY * s.GroupLength, width = Width(eights);
        float shift = x.Load(start);
        var statistics = Statistics.Of(shift, Sums(x, start, start + s.GroupLength, shift, width, scratch), s);
        Normalize(x, gamma, beta, y, s, statistics, Grid.IdxY, Group.IdxX, Group.DimX, width);
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
        return new(Reductions.GroupSum(sum, scratch), Reductions.GroupSum(squares, scratch));
    }

    /// <summary>Sums of x − x₀ and of its square.</summary>
    private readonly record struct GroupSums(float Deviations, float Squares);

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
    private readonly record struct Statistics(float Shift, float MeanShifted, float InvStd)
    {
        /// <summary>From the group's sums; kept out of the loops that use them (ILGPU would otherwise recompute them for every element).</summary>
        public static Statistics Of(float shift, GroupSums sums, GroupNormShape s)
        {
            float meanShifted = sums.Deviations / s.GroupLength;
            float variance = XMath.Max(sums.Squares / s.GroupLength - meanShifted * meanShifted, 0f);
            return new(LoopInvariant.Keep(shift), LoopInvariant.Keep(meanShifted), LoopInvariant.Keep(1f / XMath.Sqrt(variance + s.Epsilon)));
        }

        /// <summary>x − x₀ − mean(x − x₀) (the large mean itself is never rounded), scaled, shifted, SiLU when asked.</summary>
        public float Apply(float x, float scale, float bias, int silu)
        {
            float v = (x - Shift - MeanShifted) * scale + bias;
            return silu != 0 ? Silu(v) : v;
        }

        /// <summary>The elements of a step of <paramref name="width"/> (<see cref="Row8.LoadStep"/>), the others left 0.</summary>
        public Row8 Apply(in Row8 x, float scale, float bias, int silu, int width) => width == 8
            ? new()
            {
                V0 = Apply(x.V0, scale, bias, silu), V1 = Apply(x.V1, scale, bias, silu), V2 = Apply(x.V2, scale, bias, silu),
                V3 = Apply(x.V3, scale, bias, silu), V4 = Apply(x.V4, scale, bias, silu), V5 = Apply(x.V5, scale, bias, silu),
                V6 = Apply(x.V6, scale, bias, silu), V7 = Apply(x.V7, scale, bias, silu),
            }
            : new() { V0 = Apply(x.V0, scale, bias, silu) };

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
