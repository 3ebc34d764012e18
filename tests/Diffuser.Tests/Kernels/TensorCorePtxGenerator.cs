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
        text.AppendLine("}").AppendLine();
        text.AppendLine("/// <summary>The PTX that <see cref=\"WarpGroupMma\"/> emits beside <see cref=\"TensorCorePtx\"/>'s registers (wg_da, wg_db: the descriptors of stage 0's A and B tiles; wg_acc: true).</summary>");
        text.AppendLine("public static class WarpGroupPtx").AppendLine("{");
        PtxSourceWriter.Constant(text, "The descriptors of stage 0's tiles (WarpGroupLayout.Descriptor), after TensorCorePtx.Declare.", "Declare", WarpGroupDeclare());
        PtxSourceWriter.Constant(text, "One k16 step of the group: %0 = the step's offset from stage 0's tiles in 16-byte units; two wgmma.m64n128k16, committed.", "Step", WarpGroupStep(2));
        PtxSourceWriter.Constant(text, "As Step, for the tile's first 64 rows alone.", "StepFirstHalf", WarpGroupStep(1));
        PtxSourceWriter.Constant(text, "After a stage's last step: waits for the previous stage's wgmma, leaving this stage's running.", "WaitForPreviousStage",
            $"wgmma.wait_group.sync.aligned {WarpGroupLayout.GroupsInFlight};\n");
        PtxSourceWriter.Constant(text, "Makes this thread's generic-proxy stores and copies into shared memory visible to wgmma's reads (async proxy).", "PublishStores", "fence.proxy.async.shared::cta;\n");
        PtxSourceWriter.Constant(text, "Waits for every wgmma still running (after the last stage).", "Drain", "wgmma.wait_group.sync.aligned 0;\n");
        text.Length -= Environment.NewLine.Length;
        return text.AppendLine("}").ToString();
    }

    /// <summary>
    /// The accumulators of 64-row half <paramref name="half"/> in wgmma's order: d[4·J + e] is element e of n8 tile J
    /// (columns 8·J …), which is staged m16 tile 2·half + column half, n8 tile j of <see cref="TensorCoreLayout.NTileColumn"/>.
    /// </summary>
    internal static string WarpGroupAccumulators(int half) => string.Join(", ", Range(16).SelectMany(n =>
        Range(4).Select(e => C(2 * half + n / 4 % 2, n % 4 + 4 * (n / 8), e))));

    private static string WarpGroupDeclare()
    {
        string Descriptor(string name, int tileBytes) =>
            (tileBytes == 0 ? "shr.u32 wg_t, tc_sbase, 4; " : $"add.u32 wg_t, tc_sbase, {tileBytes}; shr.u32 wg_t, wg_t, 4; ")
            + $"and.b32 wg_t, wg_t, 16383; cvt.u64.u32 wg_u, wg_t; or.b64 {name}, wg_u, 0x{WarpGroupLayout.Descriptor(0):X16};\n";
        return ".reg .b64 wg_da, wg_db;\n.reg .pred wg_acc;\n{ .reg .u32 wg_t; .reg .u64 wg_u;\n"
            + Descriptor("wg_da", 0) + Descriptor("wg_db", TensorCoreLayout.TileBytes) + "}\nsetp.eq.u32 wg_acc, tc_sbase, tc_sbase;\n";
    }

    private static string WarpGroupStep(int halves)
    {
        var text = new StringBuilder("{ .reg .b64 wg_o, wg_a, wg_b, wg_a1;\ncvt.u64.u32 wg_o, %0;\nadd.s64 wg_a, wg_da, wg_o;\nadd.s64 wg_b, wg_db, wg_o;\n");
        if (halves == 2) text.Append($"add.s64 wg_a1, wg_a, {WarpGroupLayout.HalfBytes >> 4};\n");
        text.Append("wgmma.fence.sync.aligned;\n");
        foreach (int half in Range(halves))
            text.Append($"wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {{{WarpGroupAccumulators(half)}}}, {(half == 0 ? "wg_a" : "wg_a1")}, wg_b, wg_acc, 1, 1, 0, 0;\n");
        return text.Append("wgmma.commit_group.sync.aligned;\n}\n").ToString();
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
