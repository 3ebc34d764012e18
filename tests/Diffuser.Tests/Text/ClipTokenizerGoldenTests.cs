using System.Text.Json;
using Diffuser.Text;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Text;

/// <summary>Every case of golden/tokenizer.json: SD 1.5's tokenizer (pad 49407) and SD 2.1's (pad "!" = 0).</summary>
public class ClipTokenizerGoldenTests
{
    private static readonly Lazy<JsonElement> Goldens = new(() =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Golden("tokenizer.json"))).RootElement);

    /// <summary>golden section → model folder whose tokenizer made it.</summary>
    private static string ModelOf(string section) => section == "sd15" ? "sd15" : "sd21";

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var section in new[] { "sd15", "sd2" })
            foreach (var c in Goldens.Value.GetProperty(section).GetProperty("cases").EnumerateArray())
                data.Add(section, c.GetProperty("id").GetInt32());
        return data;
    }

    private static JsonElement Case(string section, int id) =>
        Goldens.Value.GetProperty(section).GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetInt32() == id);

    private static string Prompt(JsonElement c) =>
        string.Concat(c.GetProperty("prompt_codepoints").EnumerateArray().Select(cp => char.ConvertFromUtf32(cp.GetInt32())));

    private static int[] Ints(JsonElement c, string name) => c.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    [Theory, MemberData(nameof(Cases))]
    public void CleanedTextMatches(string section, int id)
    {
        var c = Case(section, id);
        Assert.Equal(c.GetProperty("cleaned_text").GetString(), ClipTextCleaner.Clean(Prompt(c)));
    }

    [Theory, MemberData(nameof(Cases))]
    public void BpeTokensAndUnpaddedIdsMatch(string section, int id)
    {
        var c = Case(section, id);
        var tokenizer = TestTokenizers.Of(ModelOf(section));
        var expectedTokens = c.GetProperty("bpe_tokens").EnumerateArray().Select(t => t.GetString()).ToArray();
        Assert.Equal(expectedTokens, tokenizer.Tokenize(Prompt(c)).Select(t => t.Text).ToArray());
        Assert.Equal(Ints(c, "ids_unpadded"), tokenizer.EncodeUnpadded(Prompt(c)));
    }

    [Theory, MemberData(nameof(Cases))]
    public void PaddedIdsAndMaskMatch(string section, int id)
    {
        var c = Case(section, id);
        var encoded = TestTokenizers.Of(ModelOf(section)).Encode(Prompt(c));
        Assert.Equal(Ints(c, "input_ids"), encoded.InputIds);
        Assert.Equal(Ints(c, "attention_mask"), encoded.AttentionMask);
        Assert.Equal(c.GetProperty("num_ids_unpadded").GetInt32(), encoded.UnpaddedLength);
        Assert.Equal(c.GetProperty("truncated").GetBoolean(), encoded.Truncated);
    }

    [Theory]
    [InlineData("sd15")]
    [InlineData("sd2")]
    public void SpecialIdsMatchTheSection(string section)
    {
        var s = Goldens.Value.GetProperty(section);
        var tokenizer = TestTokenizers.Of(ModelOf(section));
        Assert.Equal(s.GetProperty("bos_token_id").GetInt32(), tokenizer.BosId);
        Assert.Equal(s.GetProperty("eos_token_id").GetInt32(), tokenizer.EosId);
        Assert.Equal(s.GetProperty("pad_token_id").GetInt32(), tokenizer.PadId);
        Assert.Equal(s.GetProperty("pad_token").GetString(), tokenizer.Settings.PadToken);
        Assert.Equal(s.GetProperty("model_max_length").GetInt32(), tokenizer.MaxLength);
    }
}
