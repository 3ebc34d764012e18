using Diffuser.Backends;
using Diffuser.Backends.Ilgpu;
using Diffuser.Diagnostics;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core GEMM and convolution kernels, whole, on ILGPU's CPU accelerator with the mma instructions emulated
/// element by element (<c>EmulatedWarpMma</c>): operand chunks, shared layout, stages, split-K, the staged epilogue and
/// GEGLU pairing against the cpu backend's fp16 reference. The PTX itself is checked by <c>TensorCorePtxTests</c>.
/// </summary>
public sealed class TensorCoreEmulationTests : IDisposable
{
    private readonly Backend _emulated = BackendFactory.CreateIlgpu("ilgpu-cpu", TensorCoreMode.Emulated);
    private readonly Backend _cpu = new Backends.Cpu.CpuBackend();

    public static TheoryData<string> Cases() => new(MatmulCases.Select(c => c.Id));

    private static IEnumerable<OpCase> MatmulCases => OpCases.SmallHalf.Where(c => c.Family is "gemm" or "geglu_linear" or "conv2d");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheFp16Reference(string id)
    {
        var c = MatmulCases.Single(x => x.Id == id);
        Tolerance.AssertClose(Run(c, _emulated), Run(c, _cpu), c.Atol, c.Rtol, c.Id);
    }

    private static float[] Run(OpCase c, Backend backend)
    {
        var inputs = c.CreateInputs(backend);
        try
        {
            using var y = c.Run(backend, inputs);
            return y.ToArray();
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
    }

    public void Dispose()
    {
        _emulated.Dispose();
        _cpu.Dispose();
    }
}
