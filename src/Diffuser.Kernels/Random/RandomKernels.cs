using ILGPU;

namespace Diffuser.Kernels.Random;

/// <summary>ILGPU kernel of <see cref="PhiloxNormal"/>: one thread per output element, bit-identical to <see cref="RandomManaged.Normal"/>.</summary>
public static class RandomKernels
{
    public static void Normal(Index1D index, ArrayView<float> output, ulong seed, ulong draw) =>
        output[index] = PhiloxNormal.Element(index, seed, draw);
}
