using ILGPU;

namespace Diffuser.Kernels.Launch;

/// <summary>Device-side index helpers (compiled into kernels).</summary>
public static class KernelLoops
{
    /// <summary>This thread's first index of a grid-stride loop.</summary>
    public static int GridStart => Grid.IdxX * Group.DimX + Group.IdxX;

    /// <summary>The stride of a grid-stride loop: every thread of the grid.</summary>
    public static int GridStride => Grid.DimX * Group.DimX;
}
