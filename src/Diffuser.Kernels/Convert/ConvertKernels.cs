using Diffuser.Kernels.Launch;
using ILGPU;
using Half = ILGPU.Half;

namespace Diffuser.Kernels.Convert;

/// <summary>fp32 ↔ fp16 conversion (device code; round to nearest even).</summary>
public static class ConvertKernels
{
    /// <summary>y holds fp16 bit patterns.</summary>
    public static void ToHalf(ArrayView<float> x, ArrayView<ushort> y, int count)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = HalfBits.FromSingle(x[i]);
    }

    public static void ToSingle(ArrayView<Half> x, ArrayView<float> y, int count)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = (float)x[i];
    }
}
