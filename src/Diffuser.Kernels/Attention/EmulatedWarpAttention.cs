using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// What the attention PTX of <typeparamref name="TP"/> computes, element by element, for devices without tensor cores:
/// each lane keeps the very scores, probabilities and output elements the mma fragments leave in it, reduces over its
/// quad with shuffles as the PTX does, sums each row's fp16 probabilities as the PTX's mma with ones does, and stages
/// where the PTX stores. ILGPU's CPU accelerator runs the whole
/// tensor-core attention kernel with it, so every address, mask and the staging of the kernel are tested there.
/// </summary>
public struct EmulatedWarpAttention<TP> : IWarpAttention where TP : struct, IWarpAttention
{
    private const int MaxWidth = 160;
    private ArrayView<float> _query, _scores, _probabilities, _output, _stats;

    public readonly int Width => default(TP).Width;

    private static int Row(int lane, int e) => lane / 4 + 8 * (e / 2);

    private static int Column(int lane, int e) => 2 * (lane % 4) + e % 2;

    private static float Half(ArrayView<ushort> shared, int index) => (float)Interop.IntAsFloat(shared[index]);

    public void Declare()
    {
        _query = LocalMemory.Allocate<float>(2 * MaxWidth);   // the lane's two Q rows (its quad holds them between its lanes)
        _scores = LocalMemory.Allocate<float>(32);
        _probabilities = LocalMemory.Allocate<float>(2 * FlashAttentionLayout.Keys);   // the two rows of P, gathered from the quad
        _output = LocalMemory.Allocate<float>(MaxWidth / 2);
        _stats = LocalMemory.Allocate<float>(4);   // max, sum of row halves 0 and 1 (whole rows, as the mma leaves them)
    }

    public readonly void LoadQuery(ArrayView<ushort> shared, int tile)
    {
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx, width = Width, pitch = FlashAttentionLayout.Pitch(width);
        shared = shared.SubView(tile / 2);
        for (int h = 0; h < 2; h++)
        {
            for (int d = 0; d < width; d++) _query[h * width + d] = Half(shared, (16 * warp + Row(lane, 2 * h)) * pitch + d);
            _stats[h] = float.NegativeInfinity;
            _stats[2 + h] = 0f;
        }
        for (int i = 0; i < width / 2; i++) _output[i] = 0f;
    }

    public readonly void Scores(ArrayView<ushort> shared, int stage)
    {
        shared = shared.SubView(stage / 2);
        int lane = Warp.LaneIdx, width = Width, pitch = FlashAttentionLayout.Pitch(width);
        for (int i = 0; i < 32; i++)
        {
            int key = 8 * (i / 4) + Column(lane, i % 4), h = i % 4 / 2;
            float sum = 0f;
            for (int d = 0; d < width; d++) sum += _query[h * width + d] * Half(shared, key * pitch + d);
            _scores[i] = sum;
        }
    }

    public readonly void Mask(int validKeys)
    {
        int lane = Warp.LaneIdx;
        for (int i = 0; i < 32; i++)
            if (8 * (i / 4) + Column(lane, i % 4) >= validKeys) _scores[i] = float.NegativeInfinity;
    }

    public readonly void Softmax(float scaleLog2)
    {
        int width = Width;
        for (int h = 0; h < 2; h++)
        {
            float max = float.NegativeInfinity;
            for (int i = 0; i < 32; i++)
                if (i % 4 / 2 == h) max = XMath.Max(max, _scores[i]);
            max = XMath.Max(Reductions.WarpMax(max, 4), _stats[h]);
            float rescale = XMath.Exp2((_stats[h] - max) * scaleLog2);
            _stats[h] = max;
            _stats[2 + h] *= rescale;
            for (int i = 0; i < 32; i++)
                if (i % 4 / 2 == h) _scores[i] = XMath.Exp2(_scores[i] * scaleLog2 - max * scaleLog2);
            for (int i = 0; i < width / 2; i++)
                if (i % 4 / 2 == h) _output[i] *= rescale;
        }
    }

    public readonly void Accumulate(ArrayView<ushort> shared, int stage)
    {
        shared = shared.SubView(stage / 2);
        int lane = Warp.LaneIdx, width = Width, pitch = FlashAttentionLayout.Pitch(width), values = FlashAttentionLayout.TileBytes(width) / 2;
        // Key 8j + 2t + b of row half h is element 2h + b of tile j in lane t of the quad; P enters the mma as fp16.
        for (int i = 0; i < 32; i++)
            for (int t = 0; t < 4; t++)
            {
                float p = Warp.Shuffle(_scores[i], lane / 4 * 4 + t);
                _probabilities[i % 4 / 2 * FlashAttentionLayout.Keys + 8 * (i / 4) + 2 * t + i % 2] = (float)Interop.IntAsFloat(F16View.Round(p));
            }
        for (int key = 0; key < FlashAttentionLayout.Keys; key++)
            for (int h = 0; h < 2; h++) _stats[2 + h] += _probabilities[h * FlashAttentionLayout.Keys + key];
        for (int i = 0; i < width / 2; i++)
        {
            int column = 8 * (i / 4) + Column(lane, i % 4), h = i % 4 / 2;
            float sum = 0f;
            for (int key = 0; key < FlashAttentionLayout.Keys; key++)
                sum += _probabilities[h * FlashAttentionLayout.Keys + key] * Half(shared, values + key * pitch + column);
            _output[i] += sum;
        }
    }

    public readonly void Finish(ArrayView<float> staging)
    {
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx, width = Width;
        float inverse0 = 1f / _stats[2], inverse1 = 1f / _stats[3];
        for (int i = 0; i < width / 2; i++)
        {
            int e = i % 4;
            staging[(16 * warp + Row(lane, e)) * FlashAttentionLayout.StagingPitch(width) + 8 * (i / 4) + Column(lane, e)] =
                _output[i] * (e < 2 ? inverse0 : inverse1);
        }
    }
}
