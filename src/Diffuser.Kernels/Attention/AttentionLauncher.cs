using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Loads the fused attention kernel once for an accelerator and one storage type (one compiled variant per head
/// dimension), and the row softmax on first use.
/// </summary>
public sealed class AttentionLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, T, T, T, T, AttentionShape, SpecializedValue<int>> _attention;
    private readonly Lazy<Action<KernelConfig, T, T, int, int>> _softmax;
    private readonly Lazy<Action<KernelConfig, F32View, T, int, int>> _softmaxOfSingle;

    public AttentionLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _softmax = new(() => accelerator.LoadStream<T, T, int, int>(SoftmaxKernels.RowSoftmax));
        _softmaxOfSingle = new(() => accelerator.LoadStream<F32View, T, int, int>(SoftmaxKernels.RowSoftmax));
        if (accelerator.WarpSize < AttentionKernels.TeamLanes)
            throw new NotSupportedException($"Fused attention needs a warp of at least {AttentionKernels.TeamLanes} lanes; {accelerator.Name} has {accelerator.WarpSize}.");
        _attention = accelerator.LoadStream<T, T, T, T, AttentionShape, SpecializedValue<int>>(AttentionKernels.Attention);
    }

    /// <summary>o = softmax(scale · q·kᵀ)·v per head (see <see cref="AttentionShape"/> for the layout); head dims 1 to <see cref="AttentionKernels.MaxHeadDim"/>.</summary>
    public void Run(T q, T k, T v, T o, AttentionShape s)
    {
        if (s.HeadDim > AttentionKernels.MaxHeadDim)
            throw new ArgumentOutOfRangeException(nameof(s), $"Fused attention supports head dims up to {AttentionKernels.MaxHeadDim}, got {s.HeadDim}.");
        var config = LaunchGeometry.Grid(LaunchGeometry.Tiles(s.QueryLength, AttentionKernels.QueryRows(s.HeadDim)), s.Heads, s.Batch,
            AttentionKernels.Threads(s.HeadDim), AttentionKernels.SharedFloats(s.HeadDim));
        _attention(config, q, k, v, o, s, SpecializedValue.New(s.HeadDim));
    }

    /// <summary>Softmax over each of <paramref name="rows"/> rows of <paramref name="cols"/> values, one warp per row.</summary>
    public void Softmax(T x, T y, int rows, int cols) => _softmax.Value(SoftmaxGrid(rows), x, y, rows, cols);

    /// <summary>As <see cref="Softmax"/> of fp32 values (attention scores) into this storage type (fp16 probabilities).</summary>
    public void SoftmaxOfSingle(F32View x, T y, int rows, int cols) => _softmaxOfSingle.Value(SoftmaxGrid(rows), x, y, rows, cols);

    private KernelConfig SoftmaxGrid(int rows) =>
        LaunchGeometry.Grid(LaunchGeometry.Tiles(rows, LaunchGeometry.ElementGroup / _accelerator.WarpSize), 1, 1, LaunchGeometry.ElementGroup);
}
