using System.Text;
using Diffuser.Kernels.Attention;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Writes src/Diffuser.Kernels/Attention/FlashAttentionPtx.Generated.cs: the inline PTX of the tensor-core attention
/// for every width of <see cref="FlashAttentionLayout.Widths"/>, and the <c>PtxWarpAttention{W}</c> structs that emit it
/// (CudaAsm.Emit needs literal constants, so every width has its own text). Registers (per lane): fa_q{k}_{r} Q's A
/// fragment of k16 step k; fa_s{j}_{e} scores (then probabilities) of key n8 tile j; fa_p{k}_{r} P as the A fragment of
/// key k16 step k; fa_o{j}_{e} the output of head-dim n8 tile j; fa_m0/1 running max (raw scores) of rows g and g + 8;
/// fa_l{e} their running sums as an mma C fragment (P times a B fragment of fp16 ones, fa_one: the tensor cores add
/// exactly the fp16 P that P·V uses, and no instruction per score is spent on the sum). <see cref="GeneratedPtxTests"/> fails when the checked-in file differs from this text;
/// rerun it with DIFFUSER_REGENERATE=1 to rewrite it.
/// </summary>
internal static class FlashAttentionPtxGenerator
{
    private const string Mma = "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32";
    private const string NegativeInfinity = "0fFF800000";

    public static string File()
    {
        var text = PtxSourceWriter.Begin(nameof(FlashAttentionPtxGenerator), "Diffuser.Kernels.Attention", "Diffuser.Kernels.Launch", "ILGPU", "ILGPU.Runtime.Cuda");
        text.AppendLine("/// <summary>The attention PTX every width shares.</summary>");
        text.AppendLine("public static class FlashAttentionPtx").AppendLine("{");
        Constant(text, "Scores of keys at or past the block's valid count = -inf: %0 = valid keys − 2·(lane % 4).", "Mask", Mask());
        text.AppendLine("}").AppendLine();
        foreach (int width in FlashAttentionLayout.Widths) text.Append(Width(width));
        text.Append(Visitor());
        return text.ToString();
    }

    private static string Width(int w)
    {
        var text = new StringBuilder();
        text.AppendLine($"/// <summary>The attention PTX of padded head width {w} (see <see cref=\"FlashAttentionLayout\"/>).</summary>");
        text.AppendLine($"public static class FlashAttentionPtx{w}").AppendLine("{");
        Constant(text, "Function-scope registers and the shared base; emitted once, first in the kernel.", "Declare", Declare(w));
        Constant(text, "Running max = -inf, sum and output = 0, then Q's A fragments: %0 = the lane's Q ldmatrix byte offset.", "LoadQuery", LoadQuery(w));
        Constant(text, "S = Q·Kᵀ of the key block: %0 = the lane's K ldmatrix byte offset.", "Scores", Scores(w));
        Constant(text, "Online softmax of the block: %0 = scale·log2(e); rescales sum and output, packs P to f16x2.", "Softmax", Softmax(w));
        Constant(text, "O += P·V and the row sums += P·1: %0 = the lane's V ldmatrix (.trans) byte offset.", "Accumulate", Accumulate(w));
        Constant(text, "O / sum to the staging area: %0 = the lane's staging byte offset.", "Finish", Finish(w));
        text.AppendLine("}").AppendLine();
        text.AppendLine($"/// <summary>Attention on the tensor cores for head dims padded to {w}.</summary>");
        text.AppendLine($"public struct PtxWarpAttention{w} : IWarpAttention").AppendLine("{");
        text.AppendLine("    // The lane's K and V ldmatrix offsets and its first masked key, computed once in Declare, not per key block.");
        text.AppendLine("    private int _key, _value, _maskColumn;").AppendLine();
        text.AppendLine($"    public readonly int Width => {w};").AppendLine();
        text.AppendLine("    public void Declare()").AppendLine("    {");
        text.AppendLine($"        CudaAsm.Emit(FlashAttentionPtx{w}.Declare);");
        text.AppendLine($"        _key = LoopInvariant.Keep(FlashAttentionLayout.KeyLaneOffset({w}, Warp.LaneIdx));");
        text.AppendLine($"        _value = LoopInvariant.Keep(FlashAttentionLayout.ValueLaneOffset({w}, Warp.LaneIdx));");
        text.AppendLine("        _maskColumn = LoopInvariant.Keep(2 * (Warp.LaneIdx & 3));");
        text.AppendLine("    }").AppendLine();
        text.AppendLine($"    public readonly void LoadQuery(ArrayView<ushort> shared, int tile) => CudaAsm.Emit(FlashAttentionPtx{w}.LoadQuery, tile + FlashAttentionLayout.QueryLaneOffset({w}, Warp.WarpIdx, Warp.LaneIdx));").AppendLine();
        text.AppendLine($"    public readonly void Scores(ArrayView<ushort> shared, int stage) => CudaAsm.Emit(FlashAttentionPtx{w}.Scores, stage + _key);").AppendLine();
        text.AppendLine("    public readonly void Mask(int validKeys) => CudaAsm.Emit(FlashAttentionPtx.Mask, validKeys - _maskColumn);").AppendLine();
        text.AppendLine($"    public readonly void Softmax(float scaleLog2) => CudaAsm.Emit(FlashAttentionPtx{w}.Softmax, scaleLog2);").AppendLine();
        text.AppendLine($"    public readonly void Accumulate(ArrayView<ushort> shared, int stage) => CudaAsm.Emit(FlashAttentionPtx{w}.Accumulate, stage + _value);").AppendLine();
        text.AppendLine($"    public readonly void Finish(ArrayView<float> staging) => CudaAsm.Emit(FlashAttentionPtx{w}.Finish, FlashAttentionLayout.StagingLaneOffset({w}, Warp.WarpIdx, Warp.LaneIdx));");
        text.AppendLine("}").AppendLine();
        return text.ToString();
    }

    private static string Visitor()
    {
        var text = new StringBuilder();
        text.AppendLine("/// <summary>The PTX variant of each supported width.</summary>");
        text.AppendLine("public static class WarpAttentionVariants").AppendLine("{");
        text.AppendLine("    /// <summary><paramref name=\"visitor\"/> applied to the variant of padded width <paramref name=\"width\"/>.</summary>");
        text.AppendLine("    public static TResult Visit<TResult, TVisitor>(int width, TVisitor visitor) where TVisitor : IWarpAttentionVisitor<TResult> => width switch");
        text.AppendLine("    {");
        foreach (int w in FlashAttentionLayout.Widths) text.AppendLine($"        {w} => visitor.Visit<PtxWarpAttention{w}>(),");
        text.AppendLine("        _ => throw new ArgumentOutOfRangeException(nameof(width), $\"No tensor-core attention for padded head width {width}.\"),");
        text.AppendLine("    };").AppendLine("}");
        return text.ToString();
    }

    private static void Constant(StringBuilder text, string summary, string name, string body) => PtxSourceWriter.Constant(text, summary, name, body);

    private static IEnumerable<int> Range(int count) => Enumerable.Range(0, count);

    private static string Regs(string prefix, int outer, int inner) =>
        string.Join(", ", Range(outer).SelectMany(i => Range(inner).Select(r => $"{prefix}{i}_{r}")));

    private static string Declare(int w) => $"""
        .reg .b32 {Regs("fa_q", w / 16, 4)};
        .reg .b32 {Regs("fa_p", 4, 4)}, fa_b0, fa_b1, fa_b2, fa_b3;
        .reg .f32 {Regs("fa_s", 8, 4)};
        .reg .f32 {Regs("fa_o", w / 8, 4)};
        .reg .f32 fa_m0, fa_m1, fa_l0, fa_l1, fa_l2, fa_l3;
        .reg .b32 fa_one;
        .reg .u32 fa_sbase;
        .reg .pred fa_masked;
        {"{"} .reg .u64 fa_t; mov.u64 fa_t, __dyn_shared_alloca; cvt.u32.u64 fa_sbase, fa_t; {"}"}

        """;

    private static string LoadQuery(int w)
    {
        var text = new StringBuilder();
        text.AppendLine($"mov.f32 fa_m0, {NegativeInfinity}; mov.f32 fa_m1, {NegativeInfinity}; mov.b32 fa_one, 0x3C003C00;");
        text.AppendLine(string.Join(" ", Range(4).Select(e => $"mov.f32 fa_l{e}, 0f00000000;")));
        text.AppendLine(string.Join(" ", Range(w / 8).SelectMany(j => Range(4).Select(e => $"mov.f32 fa_o{j}_{e}, 0f00000000;"))));
        text.AppendLine("{ .reg .u32 fa_a;").AppendLine("add.u32 fa_a, fa_sbase, %0;");
        foreach (int k in Range(w / 16))
            text.AppendLine($"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {{fa_q{k}_0, fa_q{k}_1, fa_q{k}_2, fa_q{k}_3}}, [fa_a+{32 * k}];");
        return text.AppendLine("}").ToString();
    }

    private static string Scores(int w)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(" ", Range(8).SelectMany(j => Range(4).Select(e => $"mov.f32 fa_s{j}_{e}, 0f00000000;"))));
        text.AppendLine("{ .reg .u32 fa_a;").AppendLine("add.u32 fa_a, fa_sbase, %0;");
        int pairBytes = 16 * FlashAttentionLayout.Pitch(w) * 2;
        foreach (int k in Range(w / 16))
            foreach (int pair in Range(4))
            {
                text.AppendLine($"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {{fa_b0, fa_b1, fa_b2, fa_b3}}, [fa_a+{pair * pairBytes + 32 * k}];");
                for (int half = 0; half < 2; half++)
                {
                    string c = Tile("fa_s", 2 * pair + half);
                    text.AppendLine($"{Mma} {c}, {Tile("fa_q", k)}, {{fa_b{2 * half}, fa_b{2 * half + 1}}}, {c};");
                }
            }
        return text.AppendLine("}").ToString();
    }

    private static string Tile(string prefix, int i) => $"{{{string.Join(", ", Range(4).Select(r => $"{prefix}{i}_{r}"))}}}";

    private static string Mask()
    {
        var text = new StringBuilder();
        foreach (int j in Range(8))
            foreach (int e in Range(4))
                text.AppendLine($"setp.le.s32 fa_masked, %0, {8 * j + e % 2}; selp.f32 fa_s{j}_{e}, {NegativeInfinity}, fa_s{j}_{e}, fa_masked;");
        return text.ToString();
    }

    /// <summary>Per row half h (row g: elements 0, 1; row g + 8: elements 2, 3): the quad's max, the rescale factor, exponentials, sum.</summary>
    private static string Softmax(int w)
    {
        var text = new StringBuilder();
        text.AppendLine("{ .reg .f32 fa_x, fa_y, fa_a;");
        foreach (int h in Range(2))
        {
            var elements = Range(8).SelectMany(j => Range(2).Select(e => $"fa_s{j}_{2 * h + e}")).ToArray();
            text.AppendLine($"max.f32 fa_x, {elements[0]}, {elements[1]};");
            foreach (var s in elements.Skip(2)) text.AppendLine($"max.f32 fa_x, fa_x, {s};");
            foreach (int lanes in new[] { 1, 2 })
                text.AppendLine($"shfl.sync.bfly.b32 fa_y, fa_x, {lanes}, 31, 0xffffffff; max.f32 fa_x, fa_x, fa_y;");
            text.AppendLine($"max.f32 fa_x, fa_x, fa_m{h};");
            text.AppendLine($"sub.f32 fa_a, fa_m{h}, fa_x; mul.f32 fa_a, fa_a, %0; ex2.approx.ftz.f32 fa_a, fa_a;");
            text.AppendLine($"mov.f32 fa_m{h}, fa_x; mul.f32 fa_x, fa_x, %0; neg.f32 fa_x, fa_x;");
            foreach (var s in elements) text.AppendLine($"fma.rn.f32 {s}, {s}, %0, fa_x; ex2.approx.ftz.f32 {s}, {s};");
            text.AppendLine($"mul.f32 fa_l{2 * h}, fa_l{2 * h}, fa_a; mul.f32 fa_l{2 * h + 1}, fa_l{2 * h + 1}, fa_a;");
            text.AppendLine(string.Join(" ", Range(w / 8).SelectMany(j => Range(2).Select(e => $"mul.f32 fa_o{j}_{2 * h + e}, fa_o{j}_{2 * h + e}, fa_a;"))));
        }
        // The C fragments of key tiles 2k and 2k + 1 are the A fragment of key k16 step k (cvt puts its first source high).
        foreach (int k in Range(4))
            foreach (int r in Range(4))
            {
                int tile = 2 * k + r / 2, e = 2 * (r % 2);
                text.AppendLine($"cvt.rn.f16x2.f32 fa_p{k}_{r}, fa_s{tile}_{e + 1}, fa_s{tile}_{e};");
            }
        return text.AppendLine("}").ToString();
    }

    private static string Accumulate(int w)
    {
        var text = new StringBuilder();
        text.AppendLine("{ .reg .u32 fa_a;").AppendLine("add.u32 fa_a, fa_sbase, %0;");
        int stepBytes = 16 * FlashAttentionLayout.Pitch(w) * 2;
        foreach (int k in Range(4))
            foreach (int pair in Range(w / 16))
            {
                text.AppendLine($"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {{fa_b0, fa_b1, fa_b2, fa_b3}}, [fa_a+{k * stepBytes + 32 * pair}];");
                for (int half = 0; half < 2; half++)
                {
                    string c = Tile("fa_o", 2 * pair + half);
                    text.AppendLine($"{Mma} {c}, {Tile("fa_p", k)}, {{fa_b{2 * half}, fa_b{2 * half + 1}}}, {c};");
                }
            }
        foreach (int k in Range(4)) text.AppendLine($"{Mma} {Sums}, {Tile("fa_p", k)}, {{fa_one, fa_one}}, {Sums};");
        return text.AppendLine("}").ToString();
    }

    /// <summary>The row sums' C fragment (every column of a row holds its sum).</summary>
    private const string Sums = "{fa_l0, fa_l1, fa_l2, fa_l3}";

    private static string Finish(int w)
    {
        var text = new StringBuilder();
        text.AppendLine("{ .reg .u32 fa_a;");
        foreach (int h in Range(2)) text.AppendLine($"rcp.rn.f32 fa_l{2 * h}, fa_l{2 * h};");
        text.AppendLine("add.u32 fa_a, fa_sbase, %0;");
        int halfBytes = 8 * FlashAttentionLayout.StagingPitch(w) * 4;
        foreach (int j in Range(w / 8))
            foreach (int h in Range(2))
            {
                string e0 = $"fa_o{j}_{2 * h}", e1 = $"fa_o{j}_{2 * h + 1}";
                text.AppendLine($"mul.f32 {e0}, {e0}, fa_l{2 * h}; mul.f32 {e1}, {e1}, fa_l{2 * h}; st.shared.v2.f32 [fa_a+{h * halfBytes + 32 * j}], {{{e0}, {e1}}};");
            }
        return text.AppendLine("}").ToString();
    }
}
