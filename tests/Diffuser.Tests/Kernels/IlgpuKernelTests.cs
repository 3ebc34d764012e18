using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Every small op case, fp32 and fp16, run through <c>IlgpuBackend</c> on ILGPU's CPU accelerator and compared with
/// the managed backend at the case's tolerance.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class IlgpuKernelTests(KernelBackends backends) : IClassFixture<KernelBackends>
{
    public static TheoryData<string> SmallCases() => new(OpCases.Small.Concat(OpCases.SmallHalf).Select(c => c.Id));

    /// <summary>Each small case, fp32 and fp16 (the fp16 kernels against the cpu backend's widen-compute-round reference).</summary>
    [Theory, MemberData(nameof(SmallCases))]
    public void MatchesManagedBackend(string id)
    {
        var c = OpCases.Small.Concat(OpCases.SmallHalf).Single(x => x.Id == id);
        var (expectedShape, expected) = Run(c, backends.Cpu);
        var (actualShape, actual) = Run(c, backends.Ilgpu);
        Assert.Equal(expectedShape, actualShape);
        Tolerance.AssertClose(actual, expected, c.Atol, c.Rtol, c.Id);
    }

    public static TheoryData<string> GroupNormCases() =>
        new(OpCases.Small.Concat(OpCases.SmallHalf).Where(c => c.Family == "group_norm").Select(c => c.Id));

    /// <summary>
    /// Each small group norm case in the two launches (partial sums, then the normalisation) that the one-pass kernel
    /// falls back to, on the same device: on a GPU every small case takes the one pass, so only this reaches them there.
    /// </summary>
    [Theory, MemberData(nameof(GroupNormCases))]
    public void GroupNormInTwoLaunchesMatchesManagedBackend(string id)
    {
        var c = OpCases.Small.Concat(OpCases.SmallHalf).Single(x => x.Id == id);
        var (_, expected) = Run(c, backends.Cpu);
        var (_, actual) = Run(c, backends.TwoLaunchGroupNorms);
        Tolerance.AssertClose(actual, expected, c.Atol, c.Rtol, c.Id);
    }

    [Fact]
    public void HalfConversionRoundsLikeSystemHalf()
    {
        float[] values =
        [
            0f, -0f, 1f, -2.5f, 65504f, 65519.99f, 65520f, 1e6f, -1e6f, 6.1035156e-5f, 6.0e-8f, 2.9e-8f, 3.0e-8f,
            1.00048828125f, 1.00146484375f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0.1f, 1f / 3f,
        ];
        using var x = backends.Ilgpu.FromHost(values, new TensorShape(values.Length));
        using var half = backends.Ilgpu.Convert(x, DType.F16);
        using var back = backends.Ilgpu.Convert(half, DType.F32);
        var expected = values.Select(v => (float)(Half)v).ToArray();
        Assert.Equal(expected, back.ToArray());
    }

    [Fact]
    public void EveryHalfBitPatternWidensExactly()
    {
        var halves = Enumerable.Range(0, 1 << 16).Select(i => BitConverter.UInt16BitsToHalf((ushort)i)).ToArray();
        using var h = backends.Ilgpu.FromHost(halves, new TensorShape(halves.Length), DType.F16);
        using var f = backends.Ilgpu.Convert(h, DType.F32);
        var actual = f.ToArray();
        for (int i = 0; i < halves.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits((float)halves[i]) || float.IsNaN(actual[i]) && Half.IsNaN(halves[i]),
                $"half 0x{i:X4}: got {actual[i]}, expected {(float)halves[i]}");
    }

    /// <summary>The case's output on <paramref name="backend"/>, its inputs made there.</summary>
    internal static (int[] Shape, float[] Values) Run(OpCase c, Backend backend)
    {
        var (shape, values) = c.RunOnce(backend);
        return (shape.Dims.ToArray(), values);
    }
}
