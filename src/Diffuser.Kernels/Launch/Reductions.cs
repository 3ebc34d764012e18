using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Launch;

/// <summary>Warp reductions built on <see cref="Warp.ShuffleXor{T}(T, int)"/> (device code).</summary>
public static class Reductions
{
    /// <summary>Sum over aligned runs of <paramref name="width"/> lanes (a power of two up to the warp size); every lane gets its run's sum.</summary>
    public static float WarpSum(float value, int width)
    {
        for (int offset = width / 2; offset > 0; offset >>= 1)
            value += Warp.ShuffleXor(value, offset);
        return value;
    }

    /// <summary>Maximum over aligned runs of <paramref name="width"/> lanes; every lane gets its run's maximum.</summary>
    public static float WarpMax(float value, int width)
    {
        for (int offset = width / 2; offset > 0; offset >>= 1)
            value = XMath.Max(value, Warp.ShuffleXor(value, offset));
        return value;
    }
}
