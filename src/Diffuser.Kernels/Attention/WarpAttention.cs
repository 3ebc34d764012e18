using ILGPU;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// A warp's share of the tensor-core attention: Q fragments, scores, running max and sum, output accumulators, and the
/// steps that update them (device code; <see cref="FlashAttentionLayout"/> says where everything is). Every lane of
/// the warp must make every call (warp-synchronous instructions).
/// </summary>
public interface IWarpAttention
{
    /// <summary>The padded head width of this variant.</summary>
    int Width { get; }

    /// <summary>Once, first in the kernel (the PTX declares its registers here).</summary>
    void Declare();

    /// <summary>Resets max, sum and output; reads the warp's Q rows from the Q tile at byte <paramref name="tile"/>.</summary>
    void LoadQuery(ArrayView<ushort> shared, int tile);

    /// <summary>Scores of the warp's rows against the 64 keys of the K tile of the stage at byte <paramref name="stage"/> (unscaled).</summary>
    void Scores(ArrayView<ushort> shared, int stage);

    /// <summary>Scores of keys <paramref name="validKeys"/> and later = -inf (a partial last block).</summary>
    void Mask(int validKeys);

    /// <summary>Online softmax of the block with scores scaled by <paramref name="scaleLog2"/> (scale · log2 e), exponentials base 2.</summary>
    void Softmax(float scaleLog2);

    /// <summary>Output += probabilities · the V tile of the stage at byte <paramref name="stage"/>.</summary>
    void Accumulate(ArrayView<ushort> shared, int stage);

    /// <summary>Output / sum into the staging area.</summary>
    void Finish(ArrayView<float> staging);
}

/// <summary>Something to do with one <see cref="IWarpAttention"/> type (a generic method C# can pick by value).</summary>
public interface IWarpAttentionVisitor<TResult>
{
    TResult Visit<TA>() where TA : struct, IWarpAttention;
}
