using Diffuser.Text;

namespace Diffuser.Tests.Text;

/// <summary>The parts of transformers' clean-up the golden prompts touch only lightly: NFC in managed code,
/// Python's lower-case rules and the code-point regex split. Expected values are Python 3.11's
/// (<c>unicodedata.normalize("NFC", s)</c>, <c>s.lower()</c>, <c>regex.findall</c>).</summary>
public class ClipTextCleanupTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]                     // composes
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]         // Hangul jamo L V T → syllable (algorithmic)
    [InlineData("\u212B", "\u00C5")]                     // singleton (Angstrom sign) decomposes for good
    [InlineData("a\u0301\u0323", "\u1EA1\u0301")]        // canonical order (220 before 230), then compose
    [InlineData("\u0958", "\u0915\u093C")]               // composition exclusion stays decomposed
    [InlineData("\u1E9B\u0323", "\u1E9B\u0323")]         // ſ + dot below does not compose; the blocked-free dot above does
    [InlineData("q\u0307\u0323", "q\u0323\u0307")]       // no composites: only reordered
    [InlineData("\u00C5\u0301", "\u01FA")]               // composed starter + mark → a further composite
    [InlineData("plain ascii", "plain ascii")]
    public void NfcMatchesPython(string input, string expected) => Assert.Equal(expected, UnicodeNfc.Normalize(input));

    [Theory]
    [InlineData("ΟΔΟΣ ΣΟΦΟΣ Σ ΑΣ. ΑΣΑ", "οδος σοφος σ ας. ασα")]   // final sigma only at a word's end
    [InlineData("İstanbul", "i\u0307stanbul")]                      // İ lowers to i + combining dot
    [InlineData("ÉCOLE Ωμέγα", "école ωμέγα")]
    public void LowerCaseFollowsPython(string input, string expected) => Assert.Equal(expected, ClipTextCleaner.Clean(input));

    [Theory]
    [InlineData("a\u000Bb\u000Cc", "abc")]                 // vertical tab and form feed are controls, dropped
    [InlineData("a\u2028b\u3000c\u00A0d", "a b c d")]      // line separator, ideographic and no-break space split
    [InlineData("\uE000x\uFFFDy\u0000z", "xyz")]           // private use, replacement character, NUL
    [InlineData("\uD800a", "a")]                           // a lone surrogate is dropped
    [InlineData("漢字かな", "漢 字 かな")]                   // ideographs alone, kana joined
    public void CleanUpDropsAndSplitsLikeBasicTokenizer(string input, string expected) =>
        Assert.Equal(expected, ClipTextCleaner.Clean(input));

    [Theory]
    [InlineData("it's they'LL", new[] { "it", "'s", "they", "'LL" })]
    [InlineData("𝐀𝐁!𝟏𝟐", new[] { "𝐀𝐁", "!", "𝟏", "𝟐" })]          // astral letters and digits by code point
    [InlineData("x<|endoftext|>y !<|endoftext|>", new[] { "x", "<|endoftext|>", "y", "!<|", "endoftext", "|>" })]
    [InlineData("''s a.'t", new[] { "''", "s", "a", ".'", "t" })]   // punctuation runs are greedy
    [InlineData("  ", new string[0])]
    public void PreTokenizerFollowsTheClipRegex(string text, string[] expected) =>
        Assert.Equal(expected, ClipPreTokenizer.Split(text).Select(p => text.Substring(p.Offset, p.Length)).ToArray());
}
