using Diffuser.Kernels.Elementwise;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using Diffuser.Tests.Infrastructure;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// A tensor-core GEMM split more than 8 ways, so that a row's sums over the splits take two rounds of 8
/// (<see cref="SplitReduction.Sums"/>), emulated on a CPU accelerator of 8 multiprocessors (a wave of 16 groups, 8 at
/// once: the first splits to arrive stop waiting for the others, and the last claims their blocks of rows): the same
/// product as unsplit, with rows of whole 16-byte chunks (two 16-byte loads a split) and without (a load an element).
/// The 4 multiprocessors of the other emulation tests split at most 8 ways.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class ManySplitsTests(ManySplitsTests.Device device) : IClassFixture<ManySplitsTests.Device>
{
    private const int Rows = 9, Depth = 2048;

    [Theory, InlineData(24, true), InlineData(20, false)]
    public void ASplitOfSixteenSumsAsNoSplit(int columns, bool chunked)
    {
        var split = SplitK.Choose(device.Accelerator.NumMultiprocessors, 1, Depth, TensorCoreLayout.Depth);
        Assert.Equal(16, split.Count);
        var shape = new GemmShape(1, Rows, columns, Depth, 0, 1, 0, 0, 1f, 0, ActivationKind.None) { ChunkedStores = chunked ? 1 : 0 };
        var random = new Random(columns);
        ushort[] a = Halves(random, Rows * Depth), b = Halves(random, columns * Depth);

        float[] splitSums = Product(device.Split, a, b, shape), whole = Product(device.Whole, a, b, shape);
        Tolerance.AssertClose(splitSums, whole, 2e-3, 2e-3, $"{columns} columns");
        Assert.Contains(splitSums, v => v != 0);
    }

    private float[] Product(TensorCoreLauncher<EmulatedWarpMma, EmulatedWarpMma, EmulatedAsyncCopies> launcher, ushort[] a, ushort[] b, GemmShape shape)
    {
        var accelerator = device.Accelerator;
        using var left = accelerator.Allocate1D(a);
        using var right = accelerator.Allocate1D(b);
        using var product = accelerator.Allocate1D<ushort>(shape.M * shape.N);
        using var workspace = accelerator.Allocate1D<float>(Math.Max(launcher.GemmWorkspaceLength(shape), 1));
        launcher.Gemm(new F16View(left.View), new F16View(right.View), default(F16View), default(F16View), new F16View(product.View), workspace.View,
            shape, vectorA: true, vectorB: true);
        return [.. product.GetAsArray1D().Select(h => (float)BitConverter.UInt16BitsToHalf(h))];
    }

    /// <summary>fp16 values in [−1, 1], as bits.</summary>
    private static ushort[] Halves(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => BitConverter.HalfToUInt16Bits((Half)(2 * random.NextSingle() - 1)))];

    public sealed class Device() : CpuAcceleratorFixture(multiprocessors: 8)
    {
        public TensorCoreLauncher<EmulatedWarpMma, EmulatedWarpMma, EmulatedAsyncCopies> Split => field ??= new(Accelerator);

        public TensorCoreLauncher<EmulatedWarpMma, EmulatedWarpMma, EmulatedAsyncCopies> Whole => field ??= new(Accelerator, splitK: false);
    }
}
