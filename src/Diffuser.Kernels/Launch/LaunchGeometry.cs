using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// Launch geometry shared by every launcher: group sizes, tile counts and grid-stride grids. Kernels and launchers
/// agree on geometry only through these helpers and the constants beside each kernel.
/// </summary>
public static class LaunchGeometry
{
    /// <summary>Threads per group for element-wise kernels.</summary>
    public const int ElementGroup = 256;

    /// <summary>Grid-stride kernels never launch more groups than this many per multiprocessor.</summary>
    private const int GroupsPerMultiprocessor = 8;

    /// <summary>Number of tiles of <paramref name="tile"/> covering <paramref name="extent"/>.</summary>
    public static int Tiles(long extent, int tile) => (int)((extent + tile - 1) / tile);

    /// <summary>A 1-D grid for a grid-stride loop over <paramref name="count"/> elements.</summary>
    public static KernelConfig Elements(Accelerator accelerator, long count)
    {
        int cap = Math.Max(1, accelerator.NumMultiprocessors * GroupsPerMultiprocessor);
        return new KernelConfig(Math.Clamp(Tiles(count, ElementGroup), 1, cap), ElementGroup);
    }

    /// <summary>A 3-D grid of groups of <paramref name="groupSize"/> threads.</summary>
    public static KernelConfig Grid(int x, int y, int z, int groupSize) =>
        new(new Index3D(Math.Max(x, 1), Math.Max(y, 1), Math.Max(z, 1)), new Index3D(groupSize, 1, 1));

    /// <summary>A 3-D grid whose groups also request <paramref name="sharedFloats"/> floats of dynamic shared memory.</summary>
    public static KernelConfig Grid(int x, int y, int z, int groupSize, int sharedFloats) =>
        new(new Index3D(Math.Max(x, 1), Math.Max(y, 1), Math.Max(z, 1)), new Index3D(groupSize, 1, 1),
            SharedMemoryConfig.RequestDynamic<float>(sharedFloats));

    /// <summary>Fails with a clear message when a tensor is too large for the 32-bit indices the kernels use.</summary>
    public static int CheckedLength(long length, string what) =>
        length <= int.MaxValue ? (int)length : throw new ArgumentOutOfRangeException(what, $"{what} has {length} elements; the GPU kernels index with 32-bit integers.");
}
