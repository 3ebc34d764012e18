using Diffuser.Kernels.Launch;
using ILGPU;
using Half = ILGPU.Half;

namespace Diffuser.Kernels.Convert;

/// <summary>fp32 ↔ fp16 conversion (device code; round to nearest even, cvt.rn on CUDA).</summary>
public static class ConvertKernels
{
    public static void ToHalf(ArrayView<float> x, ArrayView<Half> y, int count)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = (Half)x[i];
    }

    public static void ToSingle(ArrayView<Half> x, ArrayView<float> y, int count)
    {
        for (int i = KernelLoops.GridStart; i < count; i += KernelLoops.GridStride)
            y[i] = (float)x[i];
    }
}
