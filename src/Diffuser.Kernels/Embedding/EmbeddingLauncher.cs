using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Embedding;

/// <summary>
/// Loads the embedding kernels once for an accelerator: the token embedding for storage type <typeparamref name="T"/>,
/// the timestep embedding (always fp32) on first use.
/// </summary>
public sealed class EmbeddingLauncher<T> where T : struct, IElementView<T>
{
    private readonly Accelerator _accelerator;
    private readonly Lazy<Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>> _timestep;
    private readonly Action<KernelConfig, ArrayView<int>, T, T, T, int, int, int, int> _token;

    public EmbeddingLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _timestep = new(() => accelerator.LoadStream<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>(EmbeddingKernels.Timestep));
        _token = accelerator.LoadStream<ArrayView<int>, T, T, T, int, int, int, int>(EmbeddingKernels.Token);
    }

    /// <summary>Host side of the timestep embedding: the <paramref name="half"/> frequencies, bit-exact with torch.</summary>
    public static float[] Frequencies(int half, float downscaleFreqShift, int maxPeriod)
    {
        var f = new float[half];
        for (int i = 0; i < half; i++) f[i] = EmbeddingManaged.Frequency(i, half, downscaleFreqShift, maxPeriod);
        return f;
    }

    public void Timestep(ArrayView<float> timesteps, ArrayView<float> frequencies, ArrayView<float> y, int dim, bool flipSinToCos, float scale) =>
        _timestep.Value(LaunchGeometry.Elements(_accelerator, y.Length), timesteps, frequencies, y, LaunchGeometry.CheckedLength(y.Length, "embedding"),
            dim, flipSinToCos ? 1 : 0, scale);

    /// <summary>Token + position embedding into <paramref name="count"/> outputs; without positions pass an empty view and false.</summary>
    public void Token(ArrayView<int> ids, T table, T positions, bool hasPositions, T y, long count, int length, int hidden) =>
        _token(LaunchGeometry.Elements(_accelerator, count), ids, table, positions, y, LaunchGeometry.CheckedLength(count, "embedding"),
            length, hidden, hasPositions ? 1 : 0);
}
