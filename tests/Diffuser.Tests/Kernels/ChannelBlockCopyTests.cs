using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;
using ILGPU;
using ILGPU.Runtime;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The copy of a dense fp16 image into the channel-blocked layout (<see cref="TensorCoreKernels.ToChannelBlocks"/>,
/// what an upsampler's convolution reads on the tensor cores) on ILGPU's CPU accelerator, bit for bit against the
/// managed layout (<see cref="ChannelBlocks.FromDense"/>). The convolution of the copy is <c>TensorCoreEmulationTests</c>'.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public sealed class ChannelBlockCopyTests(ChannelBlockCopyTests.Device device) : IClassFixture<ChannelBlockCopyTests.Device>
{
    [Theory]
    [InlineData(2, 16, 3, 5)]    // two images of two channel blocks, an odd plane: 60 blocks, one pass of the grid
    [InlineData(1, 40, 7, 9)]    // five channel blocks: 315 blocks, five passes
    public void CopiesEachPixelsChannelsInBlocksOfEight(int images, int channels, int height, int width)
    {
        int plane = height * width, length = images * channels * plane;
        var random = new Random(5);
        ushort[] dense = [.. Enumerable.Range(0, length).Select(_ => (ushort)random.Next(ushort.MaxValue + 1))];
        var expected = new float[length];
        ChannelBlocks.FromDense(dense.Select(b => (float)b).ToArray(), expected, images, channels, plane);

        var accelerator = device.Accelerator;
        using var source = accelerator.Allocate1D(dense);
        using var blocked = accelerator.Allocate1D<ushort>(length);
        int blocks = length / ChannelBlocks.Width;
        device.Copy(new KernelConfig(1, 64), new F16View(source.View), new F16View(blocked.View), blocks, plane);
        Assert.Equal(expected, blocked.GetAsArray1D().Select(b => (float)b));
    }

    public sealed class Device() : CpuAcceleratorFixture(multiprocessors: 1)
    {
        public Action<KernelConfig, F16View, F16View, int, int> Copy =>
            field ??= Accelerator.LoadStreamKernel<F16View, F16View, int, int>(TensorCoreKernels.ToChannelBlocks);
    }
}
