using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using ILGPU.Runtime;
using AttentionKernel = System.Action<ILGPU.KernelConfig, Diffuser.Kernels.Launch.F16View, Diffuser.Kernels.Launch.F16View,
    Diffuser.Kernels.Launch.F16View, Diffuser.Kernels.Launch.F16View, Diffuser.Kernels.Attention.AttentionShape,
    Diffuser.Kernels.TensorCore.KeyValueAddresses, ILGPU.Runtime.SpecializedValue<int>>;

namespace Diffuser.Kernels.Attention;

/// <summary>
/// Loads the tensor-core attention for an accelerator, one kernel per padded head width on first use: the PTX variants
/// on CUDA, or (<c>emulated</c>) their element-wise emulation for tests on ILGPU's CPU accelerator; aligned K and V
/// tiles by cp.async (<c>asyncCopies</c>; emulated: <see cref="EmulatedAsyncCopies"/>) or through registers.
/// </summary>
public sealed class FlashAttentionLauncher(Accelerator accelerator, bool emulated, bool asyncCopies = true)
{
    private readonly Dictionary<int, AttentionKernel> _kernels = [];

    /// <summary>Whether <see cref="Run"/> takes this attention: non-causal, with a head dim of a supported width.</summary>
    public static bool Supports(AttentionShape s) => s.Causal == 0 && FlashAttentionLayout.Supports(s.HeadDim);

    /// <summary>
    /// o = softmax(scale · q·kᵀ)·v per head, fp16 (see <see cref="AttentionShape"/> for the layout); <paramref name="vector"/>
    /// when the head dim, strides, offsets and the views' starts are multiples of 8 halves (<see cref="Aligned"/>).
    /// </summary>
    public void Run(F16View q, F16View k, F16View v, F16View o, AttentionShape s, bool vector)
    {
        if (!Supports(s)) throw new ArgumentOutOfRangeException(nameof(s), $"No tensor-core attention for head dim {s.HeadDim}{(s.Causal != 0 ? ", causal" : "")}.");
        int width = FlashAttentionLayout.Padded(s.HeadDim);
        if (!_kernels.TryGetValue(width, out var kernel))
            _kernels[width] = kernel = WarpAttentionVariants.Visit<AttentionKernel, Loader>(width, new Loader(accelerator, emulated, asyncCopies));
        var config = LaunchGeometry.Grid(LaunchGeometry.Tiles(s.QueryLength, FlashAttentionLayout.Rows), s.Heads, s.Batch,
            FlashAttentionLayout.Threads, FlashAttentionLayout.SharedBytes(width) / sizeof(float));
        var copy = !vector ? AttentionTileCopy.Elements : s.HeadDim == width ? AttentionTileCopy.FullWidthChunks : AttentionTileCopy.Chunks;
        kernel(config, q, k, v, o, s, new KeyValueAddresses(GlobalAddress.Of(k.Bits), GlobalAddress.Of(v.Bits)), SpecializedValue.New((int)copy));
    }

    /// <summary>Whether tiles can be copied 16 bytes at a time, given where q, k and v start in their buffers (in halves).</summary>
    // Per launch, so no allocation: all are non-negative, so their OR has its low 3 bits clear exactly when each is a multiple of 8.
    public static bool Aligned(AttentionShape s, long queryStart, long keyStart, long valueStart) =>
        ((s.HeadDim | s.QueryStride | s.KeyStride | s.QueryOffset | s.KeyOffset | s.ValueOffset) & 7) == 0
        && ((queryStart | keyStart | valueStart) & 7) == 0;

    private readonly struct Loader(Accelerator accelerator, bool emulated, bool asyncCopies) : IWarpAttentionVisitor<AttentionKernel>
    {
        public AttentionKernel Visit<TA>() where TA : struct, IWarpAttention => (emulated, asyncCopies) switch
        {
            (true, true) => Load<EmulatedWarpAttention<TA>, EmulatedAsyncCopies>(),
            (true, false) => Load<EmulatedWarpAttention<TA>, RegisterCopies>(),
            (false, true) => Load<TA, AsyncCopies>(),
            (false, false) => Load<TA, RegisterCopies>(),
        };

        private AttentionKernel Load<TA, TC>() where TA : struct, IWarpAttention where TC : struct, IOperandCopies =>
            accelerator.LoadStream<F16View, F16View, F16View, F16View, AttentionShape, KeyValueAddresses, SpecializedValue<int>>(
                FlashAttentionKernels.Attention<TA, TC>);
    }
}
