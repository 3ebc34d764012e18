using System.Text;
using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Writes src/Diffuser.Kernels/TensorCore/TensorCorePtx.Generated.cs: the inline PTX of <see cref="PtxWarpMma"/>, a warp's
/// 4 m16 × 8 n8 tiles of mma.m16n8k16 on named registers (tcc_IJE: element E of m16 tile I × n8 tile J; tca_IR:
/// register R of m16 tile I's A fragment; tcb_JR: register R of n8 tile J's B fragment; tc_sbase: the 32-bit shared
/// address of the dynamic shared memory). The byte strides are <see cref="TensorCoreLayout"/>'s.
/// </summary>
internal static class TensorCorePtxGenerator
{
    private const int MTiles = 4;
    private const int NTiles = TensorCoreLayout.NTiles;

    public static string File()
    {
        var text = PtxSourceWriter.Begin(nameof(TensorCorePtxGenerator), "Diffuser.Kernels.TensorCore");
        text.AppendLine("/// <summary>The PTX that <see cref=\"PtxWarpMma\"/> emits (see tests/Diffuser.Tests/Kernels/TensorCorePtxGenerator.cs for the register names).</summary>");
        text.AppendLine("public static class TensorCorePtx").AppendLine("{");
        PtxSourceWriter.Constant(text, "Function-scope registers and the shared base; emitted once, first in the kernel.", "Declare", Declare());
        PtxSourceWriter.Constant(text, "Every accumulator = 0.", "Zero", Zero());
        PtxSourceWriter.Constant(text, "One k16 step of the warp: %0 = the lane's A ldmatrix byte offset (m16 tile 0), %1 = its B offset (first n8 pair); 4 + 4 ldmatrix.x4, 32 mma.", "Step", Step(MTiles));
        PtxSourceWriter.Constant(text, "As Step, for m16 tile 0 alone: 1 + 4 ldmatrix.x4, 8 mma.", "StepFirstTile", Step(1));
        for (int i = 0; i < MTiles; i++)
            PtxSourceWriter.Constant(text, $"Accumulators of m16 tile {i} to the staging area: %0 = the lane's staging byte offset.", $"Stage{i}", Stage(i));
        text.Length -= Environment.NewLine.Length;   // no blank line before the closing brace
        return text.AppendLine("}").ToString();
    }

    private static IEnumerable<int> Range(int count) => Enumerable.Range(0, count);

    private static string C(int i, int j, int e) => $"tcc_{i}{j}{e}";

    private static string Accumulators(int i, int j) => string.Join(", ", Range(4).Select(e => C(i, j, e)));

    private static string A(int i) => string.Join(", ", Range(4).Select(r => $"tca_{i}{r}"));

    private static string Offset(string register, int bytes) => bytes == 0 ? $"[{register}]" : $"[{register}+{bytes}]";

    private static string Declare() => $$"""
        .reg .f32 {{string.Join(", ", Range(MTiles).SelectMany(i => Range(NTiles).Select(j => Accumulators(i, j))))}};
        .reg .b32 {{string.Join(", ", Range(MTiles).Select(A))}}, {{string.Join(", ", Range(NTiles).SelectMany(j => Range(2).Select(r => $"tcb_{j}{r}")))}};
        .reg .u32 tc_sbase;
        { .reg .u64 tc_t; mov.u64 tc_t, __dyn_shared_alloca; cvt.u32.u64 tc_sbase, tc_t; }
        """;

    private static string Zero() =>
        string.Concat(Range(MTiles).Select(i => string.Join(" ", Range(NTiles).SelectMany(j => Range(4).Select(e => $"mov.f32 {C(i, j, e)}, 0f00000000;"))) + "\n"));

    /// <summary>A k16 step of m16 tiles 0 … <paramref name="mTiles"/> − 1 against the warp's 8 n8 tiles.</summary>
    private static string Step(int mTiles)
    {
        const string load = "ldmatrix.sync.aligned.m8n8.x4.shared.b16";
        var text = new StringBuilder("{ .reg .u32 tc_pa, tc_pb;\nadd.u32 tc_pa, tc_sbase, %0;\nadd.u32 tc_pb, tc_sbase, %1;\n");
        foreach (int i in Range(mTiles)) text.Append($"{load} {{{A(i)}}}, {Offset("tc_pa", i * TensorCoreLayout.MTileBytes)};\n");
        foreach (int pair in Range(NTiles / 2))
            text.Append($"{load} {{tcb_{2 * pair}0, tcb_{2 * pair}1, tcb_{2 * pair + 1}0, tcb_{2 * pair + 1}1}}, {Offset("tc_pb", PairOffset(pair))};\n");
        foreach (int i in Range(mTiles))
            foreach (int j in Range(NTiles))
                text.Append($"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {{{Accumulators(i, j)}}}, {{{A(i)}}}, {{tcb_{j}0, tcb_{j}1}}, {{{Accumulators(i, j)}}};\n");
        return text.Append("}\n").ToString();
    }

    /// <summary>Pairs 0 and 1 cover the warp's first 32 columns, 2 and 3 the 32 columns 64 on.</summary>
    private static int PairOffset(int pair) => pair / 2 * TensorCoreLayout.ThirdPairBytes + pair % 2 * TensorCoreLayout.PairBytes;

    private static string Stage(int i)
    {
        var text = new StringBuilder("{ .reg .u32 tc_ps;\nadd.u32 tc_ps, tc_sbase, %0;\n");
        foreach (int j in Range(NTiles))
        {
            text.Append($"st.shared.v2.f32 {Offset("tc_ps", 32 * j)}, {{{C(i, j, 0)}, {C(i, j, 1)}}};\n");
            text.Append($"st.shared.v2.f32 {Offset("tc_ps", TensorCoreLayout.StagingHalfBytes + 32 * j)}, {{{C(i, j, 2)}, {C(i, j, 3)}}};\n");
        }
        return text.Append("}\n").ToString();
    }
}
