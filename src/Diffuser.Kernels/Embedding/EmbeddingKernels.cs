using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.Embedding;

/// <summary>Timestep (fp32) and token + position (generic over the storage) embeddings (device code), one output element per step.</summary>
public static class EmbeddingKernels
{
    /// <summary>
    /// y [T, dim]: angle = scale·(t·freq_j) in fp32 as the managed version forms it (the frequencies come from the host,
    /// computed with torch's exp), then sin/cos in double, rounded. An odd last column stays 0.
    /// </summary>
    public static void Timestep(ArrayView<float> timesteps, ArrayView<float> frequencies, ArrayView<float> y, int count, int dim,
        int flipSinToCos, float scale)
    {
        int half = dim / 2;
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int row = i / dim, col = i - row * dim;
            if (col >= 2 * half)
            {
                y[i] = 0f;
                continue;
            }
            bool first = col < half;
            float angle = scale * (timesteps[row] * frequencies[first ? col : col - half]);
            bool sine = first == (flipSinToCos == 0);
            y[i] = (float)(sine ? DoubleTrig.Sin(angle) : DoubleTrig.Cos(angle));
        }
    }

    /// <summary>y [B·L, hidden] = table[ids] + positions[l] (when <paramref name="hasPositions"/> is 1).</summary>
    public static void Token<T>(ArrayView<int> ids, T table, T positions, T y, int count, int length, int hidden, int hasPositions)
        where T : struct, IElementView<T>
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
        {
            int row = i / hidden, j = i - row * hidden;
            float v = table.Load(ids[row] * hidden + j);
            if (hasPositions != 0) v += positions.Load(row % length * hidden + j);
            y.Store(i, v);
        }
    }
}
