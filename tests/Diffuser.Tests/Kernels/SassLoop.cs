using System.Text.RegularExpressions;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// A loop of a kernel's machine code (cuobjdump -sass): the instructions from a backward branch's target to the
/// branch. Its size per HMMA says whether the tensor cores or the instruction issue (address arithmetic, integer
/// division, branches) bound a tensor-core kernel: an SM sub-partition issues one instruction a cycle, and an
/// HMMA.16816 keeps its tensor core busy about 8 cycles on Ampere and 4 on Hopper.
/// </summary>
public sealed partial record SassLoop(IReadOnlyList<string> Instructions)
{
    public int Count(string opcode) => Instructions.Count(i => Opcode(i) == opcode);

    public double PerMma => (double)Instructions.Count / Count("HMMA");

    /// <summary>ptxas's integer division starts by converting the divisor to float, rounding towards +∞.</summary>
    public int Divisions => Instructions.Count(i => Opcode(i) == "I2F" && i.Contains(".RP", StringComparison.Ordinal));

    public override string ToString() =>
        $"{Instructions.Count} instructions, {Count("HMMA")} HMMA ({PerMma:F1} per HMMA), " +
        string.Join(", ", Instructions.GroupBy(Opcode).OrderByDescending(g => g.Count()).Take(8).Select(g => $"{g.Key} {g.Count()}"));

    /// <summary>Every loop of <paramref name="sass"/>, outer loops included.</summary>
    public static IReadOnlyList<SassLoop> All(string sass) => Ranges(sass).Select(r => r.Loop).ToList();

    /// <summary>The loops that hold no other loop.</summary>
    public static IReadOnlyList<SassLoop> Innermost(string sass)
    {
        var ranges = Ranges(sass);
        return ranges.Where(r => !ranges.Any(o => o != r && r.Start <= o.Start && o.End <= r.End)).Select(r => r.Loop).ToList();
    }

    /// <summary>The innermost loop that holds all the <paramref name="mma"/> instructions (HMMA, HGMMA for wgmma): a tensor-core kernel's main loop.</summary>
    public static SassLoop MainOf(string sass, string mma = "HMMA") =>
        All(sass).Where(l => l.Count(mma) > 0 && l.Count(mma) == Regex.Matches(sass, $@"\b{mma}\.").Count).MinBy(l => l.Instructions.Count)
        ?? throw new InvalidOperationException($"no loop holds all the {mma} instructions");

    /// <summary>Every instruction of <paramref name="sass"/>, in order (for code outside loops).</summary>
    public static IReadOnlyList<string> Code(string sass) => Lines(sass).Select(c => c.Text).ToList();

    private static List<(int Address, string Text)> Lines(string sass) =>
        InstructionLine().Matches(sass).Select(m => (Address: Convert.ToInt32(m.Groups[1].Value, 16), Text: m.Groups[2].Value.Trim())).ToList();

    private static List<(int Start, int End, SassLoop Loop)> Ranges(string sass)
    {
        var code = Lines(sass);
        var index = code.Select((c, i) => (c.Address, i)).ToDictionary(p => p.Address, p => p.i);
        var ranges = new List<(int, int, SassLoop)>();
        for (int i = 0; i < code.Count; i++)
            if (BranchTarget().Match(code[i].Text) is { Success: true } m && index.TryGetValue(Convert.ToInt32(m.Groups[1].Value, 16), out int target) && target <= i)
                ranges.Add((target, i, new SassLoop(code.GetRange(target, i - target + 1).Select(c => c.Text).ToList())));
        return ranges;
    }

    private static string Opcode(string instruction) => PredicatePrefix().Replace(instruction, "").Split(' ', '.')[0];

    [GeneratedRegex(@"/\*([0-9a-f]{4,})\*/\s+([^;]*);")] private static partial Regex InstructionLine();
    [GeneratedRegex(@"\bBRA\s+`?\(?(0x[0-9a-f]+)")] private static partial Regex BranchTarget();
    [GeneratedRegex(@"^@!?U?P[T0-9]\s+")] private static partial Regex PredicatePrefix();
}
