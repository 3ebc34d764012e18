using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Random;

/// <summary>Fills host memory with <see cref="PhiloxNormal"/> noise; the reference for <see cref="RandomKernels.Normal"/>.</summary>
public static class RandomManaged
{
    public static void Normal(Memory<float> output, ulong seed, ulong draw) =>
        ElementwiseManaged.ForChunks(output.Length, (start, count) =>
        {
            var y = output.Span.Slice(start, count);
            for (int i = 0; i < count; i++) y[i] = PhiloxNormal.Element(start + i, seed, draw);
        });
}
