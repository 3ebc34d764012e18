namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// Parts of the kernels that can be switched off, each a fallback should it misbehave on a GPU and an A/B switch for
/// timing (the GPU script tries them in turn when the kernel tests fail).
/// </summary>
/// <param name="AsyncCopies">The tensor-core kernels copy operands with 16-byte rows by cp.async (else through registers).</param>
/// <param name="SplitK">Tensor-core products with fewer tiles than multiprocessors split their reduction (else one group per tile).</param>
/// <param name="SharedSplitSums">
/// A split tile's splits wait for each other and share the sums of its rows (else the last to arrive adds them alone).
/// </param>
/// <param name="StreamK">
/// Tensor-core products whose tiles leave much of their last wave idle deal their tiles' stages evenly to one wave of
/// groups, stream-K (else one group per tile).
/// </param>
/// <param name="OnePassGroupNorm">Group norms take the one launch that reads x once where their groups fit (else two launches).</param>
/// <param name="BlockedConvInput">
/// A group norm whose result a tensor-core convolution reads (a resnet's norm1 and norm2, conv_norm_out) writes it
/// channel-blocked, so that the convolution copies its image by cp.async, and an upsampler's convolution copies its
/// dense image so first (else dense, gathered through registers).
/// </param>
/// <param name="KernelCache">
/// A folder where CUDA kernels' PTX is kept from process to process (<see cref="Diffuser.Kernels.Launch.KernelCache"/>;
/// null: each process compiles its kernels again).
/// </param>
internal sealed record KernelOptions(bool AsyncCopies = true, bool SplitK = true, bool OnePassGroupNorm = true, bool BlockedConvInput = true,
    bool SharedSplitSums = true, bool StreamK = true, string? KernelCache = null)
{
    /// <summary>
    /// DIFFUSER_CP_ASYNC=0, DIFFUSER_SPLIT_K=0, DIFFUSER_ONE_PASS_GROUP_NORM=0, DIFFUSER_BLOCKED_CONV_INPUT=0,
    /// DIFFUSER_SHARED_SPLIT_SUMS=0 and DIFFUSER_STREAM_K=0 switch the parts off; DIFFUSER_KERNEL_CACHE names the
    /// kernel cache's folder (not yet the default: its loading of PTX has not run on a GPU).
    /// </summary>
    public static KernelOptions FromEnvironment() =>
        new(Enabled("DIFFUSER_CP_ASYNC"), Enabled("DIFFUSER_SPLIT_K"), Enabled("DIFFUSER_ONE_PASS_GROUP_NORM"), Enabled("DIFFUSER_BLOCKED_CONV_INPUT"),
            Enabled("DIFFUSER_SHARED_SPLIT_SUMS"), Enabled("DIFFUSER_STREAM_K"),
            Environment.GetEnvironmentVariable("DIFFUSER_KERNEL_CACHE") is { Length: > 0 } folder ? folder : null);

    /// <summary>The switches that turned a part off, as set (the tensor cores' parts only where they run).</summary>
    public IEnumerable<string> SwitchedOff(bool tensorCores)
    {
        if (tensorCores && !AsyncCopies) yield return "DIFFUSER_CP_ASYNC=0";
        if (tensorCores && !SplitK) yield return "DIFFUSER_SPLIT_K=0";
        if (tensorCores && !SharedSplitSums) yield return "DIFFUSER_SHARED_SPLIT_SUMS=0";
        if (tensorCores && !StreamK) yield return "DIFFUSER_STREAM_K=0";
        if (tensorCores && !BlockedConvInput) yield return "DIFFUSER_BLOCKED_CONV_INPUT=0";
        if (!OnePassGroupNorm) yield return "DIFFUSER_ONE_PASS_GROUP_NORM=0";
    }

    /// <summary>Whether the environment leaves a part on (every switch is off only when set to 0).</summary>
    public static bool Enabled(string variable) => Environment.GetEnvironmentVariable(variable) != "0";
}
