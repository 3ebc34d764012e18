using Diffuser.Backends;
using Diffuser.Backends.Ilgpu;
using Diffuser.Diagnostics;
using Diffuser.Kernels.Attention;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Diagnostics.OpCaseFactory;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The tensor-core GEMM, convolution and attention kernels, whole, on ILGPU's CPU accelerator with the mma
/// instructions emulated element by element (<c>EmulatedWarpMma</c>, <c>EmulatedWarpAttention</c>): operand chunks,
/// shared layout, stages, split-K, the staged epilogue, GEGLU pairing, attention's key blocks, masks, strides and
/// offsets against the cpu backend's fp16 reference. The PTX itself is checked by <c>TensorCorePtxTests</c> and
/// <c>FlashAttentionPtxTests</c>.
/// </summary>
public sealed class TensorCoreEmulationTests : IDisposable
{
    private readonly Backend _emulated = BackendFactory.CreateIlgpu("ilgpu-cpu", TensorCoreMode.Emulated);
    private readonly Backend _cpu = new Backends.Cpu.CpuBackend();

    public static TheoryData<string> Cases() => new(TensorCoreCases.Select(c => c.Id));

    /// <summary>
    /// Attention beyond the small table's: several key blocks with a partial last one and two query blocks (L = 70,
    /// S = 130), packed self-attention with batch and heads, packed cross-attention with a head dim that pads (72 → 80).
    /// </summary>
    private static readonly OpCase[] AttentionCases =
    [
        Half(Attention("blocks_b1h1_l70_s130_d64", 1, 1, 70, 130, 64)),
        Half(SelfAttention("self_packed_b2h2_l21_d40", 2, 2, 21, 40)),
        Half(CrossAttention("cross_packed_b1h2_l13_s9_d72", 1, 2, 13, 9, 72)),
    ];

    /// <summary>The small fp16 matmuls, and the small fp16 attention cases the tensor cores take (non-causal, supported head dims).</summary>
    private static IEnumerable<OpCase> TensorCoreCases => OpCases.SmallHalf
        .Where(c => c.Family is "gemm" or "geglu_linear" or "conv2d" || c.Family == "attention" && !(bool)c.Args!["causal"] && HasTensorCoreVariant(c))
        .Concat(AttentionCases);

    private static bool HasTensorCoreVariant(OpCase c) =>
        FlashAttentionLayout.Supports(c.Inputs[0].Shape[2] / (c.Args!["packing"] is "qkv" ? 3 : 1) / (int)c.Args["heads"]);

    /// <summary>
    /// The tensor cores multiply P in fp16 (as FlashAttention does), the reference keeps it fp32: each probability is off
    /// by up to 2⁻¹¹ of itself, so an output by up to 2⁻¹¹·max|v| (≈ 2e-3 for these N(0, 1) inputs), typically far less.
    /// </summary>
    private const double HalfProbabilityAtol = 1e-3;

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheFp16Reference(string id)
    {
        var c = TensorCoreCases.Single(x => x.Id == id);
        double atol = c.Family == "attention" ? HalfProbabilityAtol : c.Atol;
        Tolerance.AssertClose(Run(c, _emulated), Run(c, _cpu), atol, c.Rtol, c.Id);
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
