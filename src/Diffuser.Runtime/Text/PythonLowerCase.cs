using System.Globalization;
using System.Text;

namespace Diffuser.Text;

/// <summary>
/// Python's <c>str.lower()</c>, which transformers' CLIP tokenizer applies. It is .NET's invariant per-character
/// mapping except in two places: U+0130 (İ) lowers to "i̇" (i + U+0307), and a capital sigma lowers to the final
/// form ς when it ends a word (Unicode's Final_Sigma context), to σ elsewhere.
/// </summary>
internal static class PythonLowerCase
{
    private const int CapitalSigma = 0x03A3, CapitalIWithDot = 0x0130;

    public static string Lower(string text)
    {
        var runes = text.EnumerateRunes().ToArray();
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < runes.Length; i++)
        {
            switch (runes[i].Value)
            {
                case CapitalIWithDot: sb.Append("i\u0307"); break;
                case CapitalSigma: sb.Append(IsFinalSigma(runes, i) ? 'ς' : 'σ'); break;
                default: sb.Append(Rune.ToLowerInvariant(runes[i])); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Final_Sigma: a cased letter before (skipping case-ignorables) and none after (likewise).</summary>
    private static bool IsFinalSigma(Rune[] runes, int index)
    {
        int before = index - 1;
        while (before >= 0 && IsCaseIgnorable(runes[before])) before--;
        if (before < 0 || !IsCased(runes[before])) return false;
        int after = index + 1;
        while (after < runes.Length && IsCaseIgnorable(runes[after])) after++;
        return after == runes.Length || !IsCased(runes[after]);
    }

    /// <summary>Unicode's Cased property: upper/lower/title-case letters and anything with a case mapping (Ⓐ, ͅ).</summary>
    private static bool IsCased(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || Rune.ToLowerInvariant(r) != r || Rune.ToUpperInvariant(r) != r;

    /// <summary>Unicode's Case_Ignorable property: marks, format characters, modifiers and the in-word punctuation
    /// of the word-break rules (apostrophes, full stops, colons, middle dots).</summary>
    private static bool IsCaseIgnorable(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || r.Value is '\'' or '.' or ':' or 0x00B7 or 0x0387 or 0x05F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
