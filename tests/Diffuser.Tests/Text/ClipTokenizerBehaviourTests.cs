using Diffuser.Text;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Text;

/// <summary>Special tokens in the prompt, SD 2.x's pad token, batches, and errors for broken tokenizer folders.</summary>
public class ClipTokenizerBehaviourTests
{
    private const int Bos = 49406, Eos = 49407;

    [Fact]
    public void Sd2PadTokenIsSplitOutOfThePromptAsId0()
    {
        // diffusers#4153: transformers splits SD 2.x prompts on the pad token "!" before BPE; SD 1.5 byte-pairs it.
        Assert.Equal([Bos, 0, 0, 0, 0, 0, 0, Eos], TestTokenizers.Of("sd21").EncodeUnpadded("! !! !!!"));
        Assert.Equal(["!</w>", "!!</w>", "!!!</w>"], TestTokenizers.Of("sd15").Tokenize("! !! !!!").Select(t => t.Text));
    }

    [Theory]
    [InlineData("a <|endoftext|> b")]
    [InlineData("a<|ENDOFTEXT|>b")]      // not the added token (case differs), but the regex keeps it whole after lower-casing
    public void EndOfTextInThePromptIsTheEosId(string prompt)
    {
        var tokenizer = TestTokenizers.Of("sd15");
        int a = tokenizer.Tokenize("a").Single().Id, b = tokenizer.Tokenize("b").Single().Id;
        Assert.Equal([Bos, a, Eos, b, Eos], tokenizer.EncodeUnpadded(prompt));
    }

    [Fact]
    public void EncodeBatchStacksPaddedRows()
    {
        var tokenizer = TestTokenizers.Of("sd21");
        string[] prompts = ["a cat", "", "a photo of an astronaut riding a horse on mars"];
        var batch = tokenizer.EncodeBatch(prompts);
        Assert.Equal(prompts.Length * tokenizer.MaxLength, batch.Length);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(tokenizer.Encode(prompts[i]).InputIds, batch.AsSpan(i * tokenizer.MaxLength, tokenizer.MaxLength).ToArray());
    }

    [Theory]
    [InlineData(ClipTokenizer.VocabularyFile)]
    [InlineData(ClipTokenizer.MergesFile)]
    public void MissingTokenizerFileIsNamed(string missing)
    {
        using var folder = new TempTokenizerFolder(except: missing);
        var e = Assert.Throws<DiffuserException>(() => ClipTokenizer.Load(folder.Path));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        var e = Assert.Throws<DiffuserException>(() => ClipTokenizer.FromModelFolder("/nonexistent/model"));
        Assert.Contains("/nonexistent/model", e.Message);
    }

    [Fact]
    public void SpecialTokensMapOverridesTokenizerConfigAndMustBeInTheVocabulary()
    {
        using var folder = new TempTokenizerFolder();
        File.WriteAllText(System.IO.Path.Combine(folder.Path, ClipTokenizerSettings.TokenizerConfigFile), """{"pad_token": "!", "model_max_length": 77}""");
        File.WriteAllText(System.IO.Path.Combine(folder.Path, ClipTokenizerSettings.SpecialTokensMapFile), """{"pad_token": {"content": "<|pad|>"}}""");
        Assert.Equal("<|pad|>", ClipTokenizerSettings.Read(folder.Path).PadToken);
        var e = Assert.Throws<DiffuserException>(() => ClipTokenizer.Load(folder.Path));
        Assert.Contains("'<|pad|>' is not in vocab.json", e.Message);
    }

    [Fact]
    public void UnlimitedModelMaxLengthIsRejected()
    {
        using var folder = new TempTokenizerFolder();
        File.WriteAllText(System.IO.Path.Combine(folder.Path, ClipTokenizerSettings.TokenizerConfigFile), """{"model_max_length": 1000000000000000019884624838656}""");
        var e = Assert.Throws<DiffuserException>(() => ClipTokenizerSettings.Read(folder.Path));
        Assert.Contains("model_max_length", e.Message);
    }

    /// <summary>A temporary copy of the SD 1.5 tokenizer folder (less one file), deleted on dispose.</summary>
    private sealed class TempTokenizerFolder : IDisposable
    {
        public TempTokenizerFolder(string? except = null)
        {
            Path = Directory.CreateTempSubdirectory("clip-tokenizer-").FullName;
            foreach (var file in Directory.EnumerateFiles(System.IO.Path.Combine(TestPaths.Model("sd15"), "tokenizer")))
                if (System.IO.Path.GetFileName(file) != except)
                    File.Copy(file, System.IO.Path.Combine(Path, System.IO.Path.GetFileName(file)));
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
