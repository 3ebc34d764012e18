using Diffuser.Backends;
using Diffuser.Backends.Ilgpu;

namespace Diffuser.Tests.Backends;

/// <summary>What a backend says is switched on or off: beside the device's capability, as `diffuser devices` and the bench reports show it.</summary>
public class KernelOptionsTests
{
    [Fact]
    public void NamesEverySwitchedOffPartThatRunsOnTheDevice()
    {
        Assert.Empty(new KernelOptions().SwitchedOff(tensorCores: true));
        Assert.Equal(["DIFFUSER_CP_ASYNC=0", "DIFFUSER_SHARED_SPLIT_SUMS=0", "DIFFUSER_STREAM_K=0", "DIFFUSER_ONE_PASS_GROUP_NORM=0"],
            new KernelOptions(AsyncCopies: false, OnePassGroupNorm: false, SharedSplitSums: false, StreamK: false).SwitchedOff(tensorCores: true));
        // Without tensor cores their parts do not run: only the group norm's switch is worth naming.
        Assert.Equal(["DIFFUSER_ONE_PASS_GROUP_NORM=0"], new KernelOptions(SplitK: false, OnePassGroupNorm: false, StreamK: false).SwitchedOff(tensorCores: false));
    }

    [Fact]
    public void TheCapabilityOfABackendWithTheOnePassGroupNormOffSaysSo()
    {
        using var backend = BackendFactory.CreateIlgpu("ilgpu-cpu", TensorCoreMode.None, new KernelOptions(OnePassGroupNorm: false));
        Assert.EndsWith(" (off: DIFFUSER_ONE_PASS_GROUP_NORM=0)", backend.Device.Capability);
    }

    [Fact]
    public void TheCapabilityOfABackendOnWarpGroupInstructionsSaysWhichSwitchAskedForThem()
    {
        using var backend = BackendFactory.CreateIlgpu("ilgpu-cpu", TensorCoreMode.WarpGroup, new KernelOptions(SplitK: false));
        Assert.EndsWith(" (on: DIFFUSER_WGMMA=1) (off: DIFFUSER_SPLIT_K=0)", backend.Device.Capability);
    }
}
