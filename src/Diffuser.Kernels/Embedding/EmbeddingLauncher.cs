using Diffuser.Kernels.Launch;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Embedding;

/// <summary>Loads the embedding kernels once for an accelerator.</summary>
public sealed class EmbeddingLauncher
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float> _timestep;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> _token;

    public EmbeddingLauncher(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _timestep = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>(EmbeddingKernels.Timestep);
        _token = accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(EmbeddingKernels.Token);
    }

    /// <summary>Host side of the timestep embedding: the <paramref name="half"/> frequencies, bit-exact with torch.</summary>
    public static float[] Frequencies(int half, float downscaleFreqShift, int maxPeriod)
    {
        var f = new float[half];
        for (int i = 0; i < half; i++) f[i] = EmbeddingManaged.Frequency(i, half, downscaleFreqShift, maxPeriod);
        return f;
    }

    public void Timestep(ArrayView<float> timesteps, ArrayView<float> frequencies, ArrayView<float> y, int dim, bool flipSinToCos, float scale) =>
        _timestep(LaunchGeometry.Elements(_accelerator, y.Length), timesteps, frequencies, y, LaunchGeometry.CheckedLength(y.Length, "embedding"),
            dim, flipSinToCos ? 1 : 0, scale);

    /// <summary>Token + position embedding; <paramref name="positions"/> may be empty.</summary>
    public void Token(ArrayView<int> ids, ArrayView<float> table, ArrayView<float> positions, ArrayView<float> y, int length, int hidden) =>
        _token(LaunchGeometry.Elements(_accelerator, y.Length), ids, table, positions, y, LaunchGeometry.CheckedLength(y.Length, "embedding"),
            length, hidden, positions.Length > 0 ? 1 : 0);
}
