using System.Globalization;
using System.Text;

namespace Diffuser.Text;

/// <summary>
/// The text clean-up transformers' <c>CLIPTokenizer</c> does before its regex split when ftfy is not installed (it
/// then runs <c>BasicTokenizer(strip_accents=False, do_split_on_punc=False)</c>), in its order: drop NUL, U+FFFD
/// and control/format characters (category C*, except tab, CR and LF); every whitespace character becomes a space;
/// a space on each side of a CJK ideograph; Unicode NFC; split on whitespace; lower-case (accents kept); join the
/// words with single spaces. With ftfy installed transformers would use <c>ftfy.fix_text</c> instead, which treats
/// CJK, fullwidth forms, combining marks and format characters differently; the goldens were made without it.
/// </summary>
public static class ClipTextCleaner
{
    /// <summary>The cleaned, lower-cased text whose regex pieces are then byte-pair encoded.</summary>
    public static string Clean(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        // Invalid UTF-16 (a lone surrogate) enumerates as U+FFFD and is dropped, as Python drops category Cs.
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) sb.Append(' ');
            else if (IsCjkIdeograph(cp)) sb.Append(' ').Append(rune).Append(' ');
            else sb.Append(rune);
        }
        var words = SplitOnWhitespace(UnicodeNfc.Normalize(sb.ToString()));
        return PythonLowerCase.Lower(string.Join(' ', words));
    }

    /// <summary>BasicTokenizer's _is_control: any category C* character except tab, newline and carriage return.</summary>
    private static bool IsControl(Rune r) =>
        r.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control
            or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>BasicTokenizer's _is_whitespace: space, tab, newline, carriage return or category Zs.</summary>
    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    /// <summary>BasicTokenizer's _is_chinese_char: the CJK Unified and Compatibility Ideograph blocks.</summary>
    private static bool IsCjkIdeograph(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>Python's str.split(): runs of whitespace separate words, none are empty. Line and paragraph
    /// separators (U+2028/9) survive the clean-up above and split here.</summary>
    private static List<string> SplitOnWhitespace(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool space = i == text.Length || char.IsWhiteSpace(text[i]) || text[i] is >= '\x1c' and <= '\x1f';
            if (space && start >= 0)
            {
                words.Add(text[start..i]);
                start = -1;
            }
            else if (!space && start < 0) start = i;
        }
        return words;
    }
}
