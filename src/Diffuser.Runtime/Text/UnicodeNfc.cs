using System.Globalization;
using System.Reflection;
using System.Text;

namespace Diffuser.Text;

/// <summary>
/// Unicode normalisation form C in managed code, from the tables in <c>UnicodeNfcData.txt</c> (Unicode 14.0, the
/// version of the Python that made the tokenizer goldens). <see cref="string.Normalize()"/> cannot be used: with
/// <c>InvariantGlobalization</c> (this repository's setting, and any app's choice) .NET leaves non-ASCII text
/// unnormalised, so the same prompt would tokenise differently from one host application to another.
/// </summary>
public static class UnicodeNfc
{
    private const int HangulBase = 0xAC00, HangulCount = 11172, LeadBase = 0x1100, VowelBase = 0x1161, TrailBase = 0x11A7;
    private const int VowelCount = 21, TrailCount = 28, LeadCount = 19;

    private static readonly Lazy<Tables> Data = new(Tables.Load);

    /// <summary>The NFC form of <paramref name="text"/> (canonical decomposition, canonical ordering, composition).</summary>
    public static string Normalize(string text)
    {
        if (Ascii.IsValid(text)) return text;
        var tables = Data.Value;
        var cps = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, tables, cps);
        SortCombiningMarks(cps, tables);
        Compose(cps, tables);
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }

    private static void Decompose(int cp, Tables tables, List<int> output)
    {
        int s = cp - HangulBase;
        if (s is >= 0 and < HangulCount)
        {
            output.Add(LeadBase + s / (VowelCount * TrailCount));
            output.Add(VowelBase + s % (VowelCount * TrailCount) / TrailCount);
            if (s % TrailCount != 0) output.Add(TrailBase + s % TrailCount);
            return;
        }
        if (!tables.Decompositions.TryGetValue(cp, out var parts))
        {
            output.Add(cp);
            return;
        }
        Decompose(parts.First, tables, output);
        if (parts.Second != 0) Decompose(parts.Second, tables, output);
    }

    /// <summary>Canonical ordering: a stable sort by combining class within each run of non-starters.</summary>
    private static void SortCombiningMarks(List<int> cps, Tables tables)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cls = tables.ClassOf(cps[i]);
            if (cls == 0) continue;
            for (int j = i; j > 0 && tables.ClassOf(cps[j - 1]) > cls; j--)
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
        }
    }

    /// <summary>Canonical composition: each unblocked mark joins the last starter when a primary composite exists.</summary>
    private static void Compose(List<int> cps, Tables tables)
    {
        if (cps.Count == 0) return;
        int starter = tables.ClassOf(cps[0]) == 0 ? 0 : -1;
        int lastClass = starter == 0 ? 0 : 256;
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int cp = cps[read], cls = tables.ClassOf(cp);
            bool blocked = starter < 0 || lastClass != 0 && lastClass >= cls;
            if (!blocked && TryCompose(cps[starter], cp, tables, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (cls == 0) starter = write;
            lastClass = cls;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, Tables tables, out int composite)
    {
        int l = first - LeadBase, v = second - VowelBase;
        if (l is >= 0 and < LeadCount && v is >= 0 and < VowelCount)
        {
            composite = HangulBase + (l * VowelCount + v) * TrailCount;
            return true;
        }
        int s = first - HangulBase, t = second - TrailBase;
        if (s is >= 0 and < HangulCount && s % TrailCount == 0 && t is > 0 and < TrailCount)
        {
            composite = first + t;
            return true;
        }
        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Tables
    {
        public Dictionary<int, (int First, int Second)> Decompositions { get; } = new();
        public Dictionary<long, int> Compositions { get; } = new();
        private readonly Dictionary<int, byte> _classes = new();

        public int ClassOf(int cp) => _classes.TryGetValue(cp, out byte c) ? c : 0;

        public static Tables Load()
        {
            var tables = new Tables();
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Diffuser.Text.UnicodeNfcData.txt")
                ?? throw new DiffuserException("The NFC table resource Diffuser.Text.UnicodeNfcData.txt is missing from the assembly.");
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0 || line[0] == '#') continue;
                var f = line.Split(' ');
                if (f[0] == "d") tables.AddDecomposition(f);
                else tables.AddClass(f[1], byte.Parse(f[2], CultureInfo.InvariantCulture));
            }
            return tables;
        }

        private void AddDecomposition(string[] f)
        {
            int cp = Hex(f[1]), first = Hex(f[2]);
            int second = f.Length > 3 && f[3] != "c" ? Hex(f[3]) : 0;
            Decompositions[cp] = (first, second);
            if (f[^1] == "c") Compositions[((long)first << 21) | (uint)second] = cp;
        }

        private void AddClass(string range, byte cls)
        {
            int dash = range.IndexOf('-');
            int first = Hex(dash < 0 ? range : range[..dash]), last = dash < 0 ? first : Hex(range[(dash + 1)..]);
            for (int cp = first; cp <= last; cp++) _classes[cp] = cls;
        }

        private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
