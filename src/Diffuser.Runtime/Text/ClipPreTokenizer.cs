using System.Buffers;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Diffuser.Text;

/// <summary>
/// CLIP's pre-tokenisation regex, applied with <c>re.findall</c> and the IGNORECASE flag:
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>,
/// written out as a scanner over code points. .NET's Regex classifies UTF-16 units, so an astral letter or digit
/// (𝐀, 𝟏) would fall into the punctuation class there; Python's regex module sees code points, as this does.
/// Whitespace matches no alternative and is skipped.
/// </summary>
public sealed class ClipPreTokenizer : PreTokenizer
{
    /// <summary>The two special tokens that the regex keeps whole.</summary>
    public static readonly string[] SpecialTokens = ["<|startoftext|>", "<|endoftext|>"];

    public static ClipPreTokenizer Instance { get; } = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    /// <summary>The (offset, length) of each match, in UTF-16 units.</summary>
    public static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int length = SpecialTokenLength(text[i..]);
            if (length == 0) length = ContractionLength(text[i..]);
            if (length > 0)
            {
                pieces.Add((i, length));
                i += length;
                continue;
            }
            var kind = KindAt(text, i, out int width);
            int end = i + width;
            if (kind == CharKind.Space)
            {
                i = end;
                continue;
            }
            // [\p{L}]+ and [^\s\p{L}\p{N}]+ are greedy; [\p{N}] takes one code point.
            if (kind != CharKind.Number)
                while (end < text.Length && KindAt(text, end, out int w) == kind) end += w;
            pieces.Add((i, end - i));
            i = end;
        }
        return pieces;
    }

    private static int SpecialTokenLength(ReadOnlySpan<char> text)
    {
        foreach (var token in SpecialTokens)
            if (text.StartsWith(token, StringComparison.OrdinalIgnoreCase)) return token.Length;
        return 0;
    }

    /// <summary>'s, 't, 're, 've, 'm, 'll, 'd (any case; ſ folds to s under IGNORECASE).</summary>
    private static int ContractionLength(ReadOnlySpan<char> text)
    {
        if (text.Length < 2 || text[0] != '\'') return 0;
        char a = char.ToLowerInvariant(text[1]);
        if (a is 's' or 't' or 'm' or 'd' or 'ſ') return 2;
        if (text.Length < 3) return 0;
        char b = char.ToLowerInvariant(text[2]);
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
    }

    private enum CharKind { Letter, Number, Space, Other }

    private static CharKind KindAt(ReadOnlySpan<char> text, int index, out int width)
    {
        if (Rune.DecodeFromUtf16(text[index..], out var rune, out width) != OperationStatus.Done)
            return CharKind.Other;
        if (Rune.IsLetter(rune)) return CharKind.Letter;
        if (Rune.IsNumber(rune)) return CharKind.Number;
        return Rune.IsWhiteSpace(rune) ? CharKind.Space : CharKind.Other;
    }
}
