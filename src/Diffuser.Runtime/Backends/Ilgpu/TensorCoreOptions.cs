namespace Diffuser.Backends.Ilgpu;

/// <summary>
/// Parts of the tensor-core kernels that can be switched off, each a fallback should it misbehave on a GPU and an A/B
/// switch for timing (the GPU script tries them in turn when the kernel tests fail).
/// </summary>
/// <param name="AsyncCopies">Operands with 16-byte rows copied by cp.async (else through registers).</param>
/// <param name="SplitK">Products with fewer tiles than multiprocessors split their reduction (else one group per tile).</param>
internal sealed record TensorCoreOptions(bool AsyncCopies = true, bool SplitK = true)
{
    /// <summary>DIFFUSER_CP_ASYNC=0 and DIFFUSER_SPLIT_K=0 switch the parts off.</summary>
    public static TensorCoreOptions FromEnvironment() => new(Enabled("DIFFUSER_CP_ASYNC"), Enabled("DIFFUSER_SPLIT_K"));

    /// <summary>What is switched off, to show beside the device's capability ("" for nothing).</summary>
    public string Note => (AsyncCopies, SplitK) switch
    {
        (true, true) => "",
        (false, true) => " (cp.async off: DIFFUSER_CP_ASYNC=0)",
        (true, false) => " (split-K off: DIFFUSER_SPLIT_K=0)",
        _ => " (cp.async and split-K off)",
    };

    /// <summary>Whether the environment leaves a part on (every switch is off only when set to 0).</summary>
    public static bool Enabled(string variable) => Environment.GetEnvironmentVariable(variable) != "0";
}
