using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using ILGPU;
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
    /// Eight pixels of a channel as <see cref="NormKernels.GroupNormApply"/> normalises them; <paramref name="channel"/>
    /// holds what the block found (the scale in <see cref="NormKernels.Statistics.InvStd"/>'s place, which Apply does not read).
    /// </summary>
    private static Row8 Normalized<T>(T x, Float4 channel, int index, int silu) where T : struct, IElementView<T> =>
        new NormKernels.Statistics(channel.X, channel.Y, channel.Z).Apply(Row8.LoadStep(x, index, 8), channel.Z, channel.W, silu, 8);

    /// <summary>A thread's outputs: channel k's 8 pixels in Ck; stored pixel by pixel, a pixel's 8 channels one 16-byte row.</summary>
    private struct PixelTile
    {
        public Row8 C0, C1, C2, C3, C4, C5, C6, C7;

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
