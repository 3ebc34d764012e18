using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Diagnostics.OpCaseFactory;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Products sized for an H200 (132 multiprocessors, a wave of 264 groups), whose 192 tiles fill 0.73 of a wave, so
/// that the tensor cores deal them stream-K (<see cref="Diffuser.Kernels.Launch.TileSchedule"/>): the device's
/// results against the cpu backend's. The small op cases never have that many tiles, and the emulation tests check
/// stream-K on the CPU accelerator only, not the GPU's memory model (fences and atomic counts across its pieces).
/// A product this size takes minutes on ILGPU's CPU accelerator (where it is dealt by the grid): <c>DeviceRun</c>,
/// which the GPU script's kernel tests run.
/// </summary>
[Trait("Category", "DeviceRun")]
[Collection(CpuAcceleratorCollection.Name)]
public class StreamKOnDeviceTests(KernelBackends backends) : IClassFixture<KernelBackends>
{
    private static readonly OpCase[] Cases =
    [
        Half(Gemm("streamK_1024x3072x320_bias_residual", 1, 1024, 3072, 320, transB: true, bias: true, residual: true, tol: 1e-4)),   // 8 × 24 tiles
        Half(Conv2d("streamK_64x64_c64k320_k3_residual", 2, 64, 64, 64, 320, 3, 1, Padding2d.Same(1), residual: true, tol: 1e-4)),   // 3 × 64 tiles
    ];

    public static TheoryData<string> CaseIds() => new(Cases.Select(c => c.Id));

    [Theory, MemberData(nameof(CaseIds))]
    public void MatchesTheManagedBackend(string id)
    {
        var c = Cases.Single(x => x.Id == id);
        Tolerance.AssertClose(IlgpuKernelTests.Run(c, backends.Ilgpu).Values, IlgpuKernelTests.Run(c, backends.Cpu).Values, c.Atol, c.Rtol,
            $"{c.Id} on {backends.Ilgpu.Name}");
    }
}
