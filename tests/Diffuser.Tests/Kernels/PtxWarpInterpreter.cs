using System.Globalization;
using System.Text.RegularExpressions;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Runs the tensor-core kernels' inline PTX for one warp of 32 lanes over a shared-memory byte array, with the
/// semantics the PTX ISA gives the few instructions they use: mov, cvt, add.u32, ldmatrix.sync.aligned.m8n8.x4
/// (.trans).shared.b16, mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32, st.shared.v2.f32, and for attention's
/// softmax the f32 arithmetic (max, sub, mul, add, neg, fma.rn, rcp.rn, ex2.approx.ftz), setp.le.s32 and selp.f32,
/// shfl.sync.bfly.b32 and cvt.rn.f16x2.f32; for Hopper's warp group, the descriptor arithmetic (shr, and, or, 64-bit
/// add and cvt, setp.eq) and wgmma.mma_async.m64n128k16.f32.f16.f16 from two no-swizzle K-major descriptors, with its
/// fence, commit and wait rules (below). Unknown instructions fail the test, so the text the kernel emits is exactly
/// the text checked here.
/// <para>
/// wgmma: the interpreter is warp <paramref name="warpInGroup"/> of its warp group and computes that warp's 16 rows of
/// each wgmma at once, but keeps the ISA's rules as if it ran asynchronously: a wgmma must follow a wgmma.fence issued
/// after any other instruction last wrote a register it uses, and no other instruction may touch its accumulators
/// until a wgmma.wait_group has retired the commit group that holds it.
/// </para>
/// </summary>
internal sealed partial class PtxWarpInterpreter(byte[] shared, int warpInGroup = 0)
{
    private const int Lanes = 32;
    private readonly Dictionary<string, ulong>[] _registers = Enumerable.Range(0, Lanes).Select(_ => new Dictionary<string, ulong>()).ToArray();
    // Registers written by other instructions since the last wgmma.fence; accumulators of uncommitted and committed wgmma.
    private readonly HashSet<string> _writtenSinceFence = [], _uncommitted = [];
    private readonly Queue<HashSet<string>> _running = new();

    public float Float(int lane, string register) => BitConverter.UInt32BitsToSingle((uint)_registers[lane][register]);

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
        var operands = m.Groups[2].Success ? SplitOperands(m.Groups[2].Value) : [];
        if (!op.StartsWith("wgmma.", StringComparison.Ordinal)) CheckNotRunning(op, operands);
        switch (op)
        {
            case "mov.u64": Wide(operands, inputs, (a, _) => a); break;
            case "mov.f32" or "mov.b32" or "cvt.u32.u64":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs);
                break;
            case "add.u32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs) + Value(l, operands[2], inputs);
                break;
            case "shr.u32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs) >> (int)Value(l, operands[2], inputs);
                break;
            case "and.b32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs) & Value(l, operands[2], inputs);
                break;
            case "cvt.u64.u32": Wide(operands, inputs, (a, _) => (uint)a); break;
            case "or.b64": Wide(operands, inputs, (a, b) => a | b); break;
            case "add.s64": Wide(operands, inputs, (a, b) => a + b); break;
            case "setp.eq.u32":
                for (int l = 0; l < Lanes; l++) _registers[l][operands[0]] = Value(l, operands[1], inputs) == Value(l, operands[2], inputs) ? 1u : 0u;
                break;
            case "fence.proxy.async.shared::cta": break;   // orders the proxies' memory accesses; one thread of execution here
            case "wgmma.fence.sync.aligned": _writtenSinceFence.Clear(); break;
            case "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16": WarpGroupMma(operands, inputs); break;
            case "wgmma.commit_group.sync.aligned":
                _running.Enqueue([.. _uncommitted]);
                _uncommitted.Clear();
                break;
            case "wgmma.wait_group.sync.aligned":
                while (_running.Count > (int)Value(0, operands[0], inputs)) _running.Dequeue();
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
                    BitConverter.TryWriteBytes(shared.AsSpan(address), (uint)_registers[l][values[0]]);
                    BitConverter.TryWriteBytes(shared.AsSpan(address + 4), (uint)_registers[l][values[1]]);
                }
                break;
            default: throw new InvalidOperationException($"Instruction '{op}' is not modelled.");
        }
        // Every other instruction modelled writes its first operand (a store's is an address).
        if (!op.StartsWith("wgmma.", StringComparison.Ordinal) && !op.StartsWith("st.", StringComparison.Ordinal) && operands.Count > 0)
            _writtenSinceFence.UnionWith(Names(operands[0]));
    }

    /// <summary>No instruction but a wgmma may touch the accumulators of a wgmma that may still run.</summary>
    private void CheckNotRunning(string op, List<string> operands)
    {
        foreach (string name in operands.SelectMany(Names))
            if (_uncommitted.Contains(name) || _running.Any(group => group.Contains(name)))
                throw new InvalidOperationException($"'{op}' touches {name}, an accumulator of a wgmma not yet waited for.");
    }

    /// <summary>d = f(a, b) on 64-bit operands, lane by lane.</summary>
    private void Wide(List<string> operands, int[][] inputs, Func<ulong, ulong, ulong> f)
    {
        for (int l = 0; l < Lanes; l++)
            _registers[l][operands[0]] = f(Wide(l, operands[1], inputs), operands.Count > 2 ? Wide(l, operands[2], inputs) : 0);
    }

    /// <summary>
    /// wgmma.mma_async m64n128k16, f32 += f16 × f16, A and B from shared memory through matrix descriptors (the same in
    /// every lane), scale-d a predicate, immediate scales 1 and no transposes (K-major operands). This warp's share: rows
    /// 16·w … 16·w + 15 of the 64; register 4·J + e of a lane holds row 16·w + l/4 + 8·(e/2), column 8·J + 2·(l%4) + e%2.
    /// </summary>
    private void WarpGroupMma(List<string> operands, int[][] inputs)
    {
        var d = List(operands[0]);
        if (d.Length != 64 || !operands.Skip(4).SequenceEqual(["1", "1", "0", "0"]))
            throw new InvalidOperationException($"wgmma form not modelled: {string.Join(", ", operands.Skip(1))}.");
        if (d.FirstOrDefault(_writtenSinceFence.Contains) is string unfenced)
            throw new InvalidOperationException($"wgmma uses {unfenced}, written since the last wgmma.fence.");
        var a = new DescribedTile(Uniform(operands[1], inputs));
        var b = new DescribedTile(Uniform(operands[2], inputs));
        for (int l = 0; l < Lanes; l++)
        {
            bool accumulate = Value(l, operands[3], inputs) != 0;
            for (int i = 0; i < d.Length; i++)
            {
                int row = 16 * warpInGroup + l / 4 + 8 * (i % 4 / 2), col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
                float sum = accumulate ? Float(l, d[i]) : 0f;
                for (int k = 0; k < 16; k++) sum += HalfAt(a.Offset(row, k)) * HalfAt(b.Offset(col, k));
                _registers[l][d[i]] = BitConverter.SingleToUInt32Bits(sum);
            }
        }
        _uncommitted.UnionWith(d);
    }

    private ulong Uniform(string operand, int[][] inputs)
    {
        ulong value = Wide(0, operand, inputs);
        if (Enumerable.Range(1, Lanes - 1).Any(l => Wide(l, operand, inputs) != value))
            throw new InvalidOperationException($"{operand} differs between the lanes of a warp.");
        return value;
    }

    private float HalfAt(int address) => (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(shared, address));

    /// <summary>
    /// A shared-memory matrix descriptor as the PTX ISA defines it: start address, leading and stride byte offsets (bits
    /// 0–13, 16–29, 32–45, each in 16-byte units), base offset (49–51) and swizzle (62–63) zero. In the no-swizzle
    /// K-major layout an operand is made of 8×8 core matrices (8 rows of 16 contiguous bytes): the one holding (row, k)
    /// lies (row/8)·stride + (k/8)·leading bytes from the start.
    /// </summary>
    private readonly struct DescribedTile
    {
        private readonly int _start, _leading, _stride;

        public DescribedTile(ulong descriptor)
        {
            if ((descriptor >> 49 & 7) != 0 || descriptor >> 62 != 0) throw new InvalidOperationException($"descriptor 0x{descriptor:X16}: base offset or swizzle not modelled.");
            _start = (int)(descriptor & 0x3FFF) << 4;
            _leading = (int)(descriptor >> 16 & 0x3FFF) << 4;
            _stride = (int)(descriptor >> 32 & 0x3FFF) << 4;
        }

        public int Offset(int row, int k) => _start + row / 8 * _stride + k / 8 * _leading + row % 8 * 16 + k % 8 * 2;
    }

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex Name();

    private static IEnumerable<string> Names(string operand) => Name().Matches(operand).Select(m => m.Value);

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
                uint word = (uint)_registers[l][a[r]];
                int row = g + 8 * (r % 2), col = 2 * t + 8 * (r / 2);
                A[row, col] = Low(word);
                A[row, col + 1] = High(word);
            }
            for (int r = 0; r < 2; r++)
            {
                uint word = (uint)_registers[l][b[r]];
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

    private uint Value(int lane, string operand, int[][] inputs) => (uint)Wide(lane, operand, inputs);

    private ulong Wide(int lane, string operand, int[][] inputs)
    {
        if (operand == "__dyn_shared_alloca") return 0;   // the dynamic block starts the shared window in this model
        if (operand.StartsWith("0f", StringComparison.Ordinal)) return uint.Parse(operand[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (operand.StartsWith("0x", StringComparison.Ordinal)) return ulong.Parse(operand[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
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

    [GeneratedRegex(@"^([a-z0-9._:]+)(?:\s+(.*))?$", RegexOptions.Singleline)]
    private static partial Regex Instruction();

    [GeneratedRegex(@"^\[(\w+)(?:\+(\d+))?\]$")]
    private static partial Regex AddressOperand();
}
