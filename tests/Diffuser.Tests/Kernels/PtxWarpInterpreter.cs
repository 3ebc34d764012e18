using System.Globalization;
using System.Text.RegularExpressions;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Runs the tensor-core kernels' inline PTX for one warp of 32 lanes over a shared-memory byte array, with the
/// semantics the PTX ISA gives the few instructions they use: mov, cvt, add.u32, ldmatrix.sync.aligned.m8n8.x4
/// (.trans).shared.b16, mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32, st.shared.v2.f32, and for attention's
/// softmax the f32 arithmetic (max, sub, mul, add, neg, fma.rn, rcp.rn, ex2.approx.ftz), setp.le.s32 and selp.f32,
/// shfl.sync.bfly.b32 and cvt.rn.f16x2.f32. Unknown instructions fail the test, so the text the kernel emits is
/// exactly the text checked here.
/// </summary>
internal sealed partial class PtxWarpInterpreter(byte[] shared)
{
    private const int Lanes = 32;
    private readonly Dictionary<string, uint>[] _registers = Enumerable.Range(0, Lanes).Select(_ => new Dictionary<string, uint>()).ToArray();

    public float Float(int lane, string register) => BitConverter.UInt32BitsToSingle(_registers[lane][register]);

    /// <summary>Executes <paramref name="asm"/> with %0, %1, ... bound per lane to <paramref name="inputs"/>(lane)[i].</summary>
    public void Run(string asm, Func<int, int[]>? inputs = null)
    {
        var bound = Enumerable.Range(0, Lanes).Select(l => inputs?.Invoke(l) ?? []).ToArray();
        foreach (var raw in asm.Replace("{ .reg", ".reg").Split(';'))
        {
            string s = raw.Trim().TrimStart('{', '}').Trim();
            if (s.Length == 0 || s.StartsWith(".reg", StringComparison.Ordinal)) continue;
            Execute(s, bound);
        }
    }

    private void Execute(string s, int[][] inputs)
    {
        var m = Instruction().Match(s);
        if (!m.Success) throw new InvalidOperationException($"Not an instruction: '{s}'.");
        string op = m.Groups[1].Value;
        var operands = SplitOperands(m.Groups[2].Value);
        switch (op)
        {
            case "mov.u64" or "mov.f32" or "mov.b32" or "cvt.u32.u64":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs);
                break;
            case "add.u32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs) + Value(l, operands[2], inputs);
                break;
            case "ldmatrix.sync.aligned.m8n8.x4.shared.b16": LoadMatrices(List(operands[0]), operands[1], inputs, transpose: false); break;
            case "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16": LoadMatrices(List(operands[0]), operands[1], inputs, transpose: true); break;
            case "max.f32": Arithmetic(operands, inputs, (a, b, _) => float.IsNaN(a) ? b : float.IsNaN(b) ? a : MathF.Max(a, b)); break;
            case "sub.f32": Arithmetic(operands, inputs, (a, b, _) => a - b); break;
            case "mul.f32": Arithmetic(operands, inputs, (a, b, _) => a * b); break;
            case "add.f32": Arithmetic(operands, inputs, (a, b, _) => a + b); break;
            case "neg.f32": Arithmetic(operands, inputs, (a, _, _) => -a); break;
            case "rcp.rn.f32": Arithmetic(operands, inputs, (a, _, _) => 1f / a); break;
            case "fma.rn.f32": Arithmetic(operands, inputs, MathF.FusedMultiplyAdd); break;
            case "ex2.approx.ftz.f32": Arithmetic(operands, inputs, (a, _, _) => FlushSubnormal(MathF.Pow(2f, FlushSubnormal(a)))); break;
            case "setp.le.s32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = (int)Value(l, operands[1], inputs) <= (int)Value(l, operands[2], inputs) ? 1u : 0u;
                break;
            case "selp.f32":
                for (int l = 0; l < Lanes; l++)
                    _registers[l][operands[0]] = Value(l, operands[3], inputs) != 0 ? Value(l, operands[1], inputs) : Value(l, operands[2], inputs);
                break;
            case "shfl.sync.bfly.b32":
                {
                    var sources = Enumerable.Range(0, Lanes).Select(l => Value(l, operands[1], inputs)).ToArray();
                    for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = sources[l ^ (int)Value(l, operands[2], inputs)];
                    break;
                }
            case "cvt.rn.f16x2.f32":   // the first source goes to the upper half
                for (int l = 0; l < Lanes; l++)
                    _registers[l][operands[0]] = (uint)BitConverter.HalfToUInt16Bits((Half)Single(l, operands[1], inputs)) << 16
                        | BitConverter.HalfToUInt16Bits((Half)Single(l, operands[2], inputs));
                break;
            case "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32": Mma(List(operands[0]), List(operands[1]), List(operands[2]), List(operands[3])); break;
            case "st.shared.v2.f32":
                for (int l = 0; l < Lanes; l++)
                {
                    int address = Address(l, operands[0], inputs);
                    var values = List(operands[1]);
                    BitConverter.TryWriteBytes(shared.AsSpan(address), _registers[l][values[0]]);
                    BitConverter.TryWriteBytes(shared.AsSpan(address + 4), _registers[l][values[1]]);
                }
                break;
            default: throw new InvalidOperationException($"Instruction '{op}' is not modelled.");
        }
    }

    /// <summary>
    /// x4: lanes 8m..8m+7 give the rows of matrix m; lane l receives, from each matrix j, row l/4, halves 2(l%4) and +1,
    /// or with .trans column l/4, rows 2(l%4) and +1 (the low half from the first).
    /// </summary>
    private void LoadMatrices(string[] destinations, string address, int[][] inputs, bool transpose)
    {
        var rows = Enumerable.Range(0, Lanes).Select(l => Address(l, address, inputs)).ToArray();
        for (int l = 0; l < Lanes; l++)
            for (int j = 0; j < 4; j++)
                _registers[l][destinations[j]] = transpose
                    ? BitConverter.ToUInt16(shared, rows[8 * j + 2 * (l % 4)] + 2 * (l / 4)) | (uint)BitConverter.ToUInt16(shared, rows[8 * j + 2 * (l % 4) + 1] + 2 * (l / 4)) << 16
                    : BitConverter.ToUInt32(shared, rows[8 * j + l / 4] + 4 * (l % 4));
    }

    /// <summary>d = f(a, b, c) on f32 operands, lane by lane (unused operands read as 0).</summary>
    private void Arithmetic(List<string> operands, int[][] inputs, Func<float, float, float, float> f)
    {
        for (int l = 0; l < Lanes; l++)
        {
            float a = Single(l, operands[1], inputs), b = operands.Count > 2 ? Single(l, operands[2], inputs) : 0f;
            float c = operands.Count > 3 ? Single(l, operands[3], inputs) : 0f;
            _registers[l][operands[0]] = BitConverter.SingleToUInt32Bits(f(a, b, c));
        }
    }

    private float Single(int lane, string operand, int[][] inputs) => BitConverter.UInt32BitsToSingle(Value(lane, operand, inputs));

    private static float FlushSubnormal(float x) => float.IsSubnormal(x) ? MathF.CopySign(0f, x) : x;

    /// <summary>
    /// D = A·B + C with the PTX fragment layouts of m16n8k16 (g = lane/4, t = lane%4): A registers (g, 2t..), (g+8, 2t..),
    /// (g, 2t+8..), (g+8, 2t+8..); B registers (k 2t.., n g), (k 2t+8.., n g); C/D (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1).
    /// </summary>
    private void Mma(string[] d, string[] a, string[] b, string[] c)
    {
        var A = new float[16, 16];
        var B = new float[16, 8];
        var C = new float[16, 8];
        for (int l = 0; l < Lanes; l++)
        {
            int g = l / 4, t = l % 4;
            for (int r = 0; r < 4; r++)
            {
                uint word = _registers[l][a[r]];
                int row = g + 8 * (r % 2), col = 2 * t + 8 * (r / 2);
                A[row, col] = Low(word);
                A[row, col + 1] = High(word);
            }
            for (int r = 0; r < 2; r++)
            {
                uint word = _registers[l][b[r]];
                B[2 * t + 8 * r, g] = Low(word);
                B[2 * t + 8 * r + 1, g] = High(word);
            }
            for (int e = 0; e < 4; e++) C[g + 8 * (e / 2), 2 * t + e % 2] = Float(l, c[e]);
        }
        for (int l = 0; l < Lanes; l++)
        {
            int g = l / 4, t = l % 4;
            for (int e = 0; e < 4; e++)
            {
                int row = g + 8 * (e / 2), col = 2 * t + e % 2;
                float sum = C[row, col];
                for (int k = 0; k < 16; k++) sum += A[row, k] * B[k, col];
                _registers[l][d[e]] = BitConverter.SingleToUInt32Bits(sum);
            }
        }
    }

    private static float Low(uint word) => (float)BitConverter.UInt16BitsToHalf((ushort)word);

    private static float High(uint word) => (float)BitConverter.UInt16BitsToHalf((ushort)(word >> 16));

    private uint Value(int lane, string operand, int[][] inputs)
    {
        if (operand == "__dyn_shared_alloca") return 0;   // the dynamic block starts the shared window in this model
        if (operand.StartsWith("0f", StringComparison.Ordinal)) return uint.Parse(operand[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (operand.StartsWith("0x", StringComparison.Ordinal)) return uint.Parse(operand[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (char.IsAsciiDigit(operand[0])) return (uint)int.Parse(operand, CultureInfo.InvariantCulture);
        if (operand.StartsWith('%')) return (uint)inputs[lane][int.Parse(operand[1..], CultureInfo.InvariantCulture)];
        return _registers[lane].TryGetValue(operand, out var v) ? v : throw new InvalidOperationException($"Register {operand} read before it was written.");
    }

    private int Address(int lane, string operand, int[][] inputs)
    {
        var m = AddressOperand().Match(operand);
        if (!m.Success) throw new InvalidOperationException($"Not an address: '{operand}'.");
        int offset = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        return (int)Value(lane, m.Groups[1].Value, inputs) + offset;
    }

    private static string[] List(string operand) => operand.Trim('{', '}').Split(',', StringSplitOptions.TrimEntries);

    /// <summary>Operands split at top-level commas (vector operands {a, b} stay whole).</summary>
    private static List<string> SplitOperands(string text)
    {
        var result = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is '{' or '[') depth++;
            else if (text[i] is '}' or ']') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                result.Add(text[start..i].Trim());
                start = i + 1;
            }
        }
        result.Add(text[start..].Trim());
        return result;
    }

    [GeneratedRegex(@"^([a-z0-9.]+)\s+(.*)$", RegexOptions.Singleline)]
    private static partial Regex Instruction();

    [GeneratedRegex(@"^\[(\w+)(?:\+(\d+))?\]$")]
    private static partial Regex AddressOperand();
}
