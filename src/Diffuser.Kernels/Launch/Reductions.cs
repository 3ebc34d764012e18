using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Launch;

/// <summary>Warp and group reductions built on <see cref="Warp.ShuffleXor{T}(T, int)"/> (device code).</summary>
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

    /// <summary>
    /// Sum over the whole group; every thread gets it. <paramref name="scratch"/> is shared memory of at least one
    /// float per warp. Contains barriers: every thread of the group must call it.
    /// </summary>
    public static float GroupSum(float value, ArrayView<float> scratch)
    {
        value = WarpSum(value, Warp.WarpSize);
        if (Warp.IsFirstLane) scratch[Warp.WarpIdx] = value;
        Group.Barrier();
        // Lane l holds warp l's sum if there is a warp l (l·32 < threads): no division, which ptxas does not shorten here.
        float total = Warp.LaneIdx * Warp.WarpSize < Group.DimX ? scratch[Warp.LaneIdx] : 0f;
        total = WarpSum(total, Warp.WarpSize);
        Group.Barrier();
        return total;
    }
}
