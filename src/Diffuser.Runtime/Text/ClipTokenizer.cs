using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Diffuser.Text;

/// <summary>
/// CLIP's tokenizer as transformers 4.44's <c>CLIPTokenizer</c> runs it for Stable Diffusion: the prompt is split on
/// the special tokens (BOS, EOS, unknown and pad token: SD 2.x's pad token <c>!</c> thus always encodes as id 0),
/// each piece is cleaned (<see cref="ClipTextCleaner"/>), split by CLIP's regex (<see cref="ClipPreTokenizer"/>) and
/// byte-level BPE encoded with the <c>&lt;/w&gt;</c> end-of-word suffix (Microsoft.ML.Tokenizers' BpeTokenizer).
/// Loading reads a 49k-entry vocabulary and 48k merges; load once and reuse the instance for every prompt.
/// </summary>
public sealed class ClipTokenizer
{
    public const string VocabularyFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    /// <summary>transformers reads at most this many merges (49152 − 256 − 2), whatever the file holds.</summary>
    public const int MaxMerges = 48894;

    private readonly BpeTokenizer _bpe;
    /// <summary>The special tokens, longest first: transformers' added-tokens trie splits the raw prompt on them.</summary>
    private readonly ClipToken[] _addedTokens;

    private ClipTokenizer(BpeTokenizer bpe, ClipTokenizerSettings settings, IReadOnlyDictionary<string, int> vocabulary, string folder)
    {
        _bpe = bpe;
        Settings = settings;
        VocabularySize = vocabulary.Values.Max() + 1;
        int Id(string token) => vocabulary.TryGetValue(token, out int id) ? id
            : throw new DiffuserException($"{folder}: special token '{token}' is not in {VocabularyFile}.");
        BosId = Id(settings.BosToken);
        EosId = Id(settings.EosToken);
        PadId = Id(settings.PadToken);
        _addedTokens = new[] { settings.BosToken, settings.EosToken, settings.UnknownToken, settings.PadToken }
            .Distinct().Select(t => new ClipToken(t, Id(t))).OrderByDescending(t => t.Text.Length).ToArray();
    }

    public ClipTokenizerSettings Settings { get; }
    public int BosId { get; }
    public int EosId { get; }
    /// <summary>The pad token's id: 49407 (<c>&lt;|endoftext|&gt;</c>) for SD 1.x, 0 (<c>!</c>) for SD 2.x.</summary>
    public int PadId { get; }
    /// <summary>Length of every encoded sequence (tokenizer_config.json's model_max_length, 77).</summary>
    public int MaxLength => Settings.ModelMaxLength;
    /// <summary>Largest id + 1: the token-embedding rows a text encoder needs.</summary>
    public int VocabularySize { get; }

    /// <summary>Loads <c>vocab.json</c>, <c>merges.txt</c> and the special-token files of a tokenizer folder.</summary>
    public static ClipTokenizer Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new DiffuserException($"Tokenizer folder not found: {folder}");
        string vocabPath = Path.Combine(folder, VocabularyFile), mergesPath = Path.Combine(folder, MergesFile);
        foreach (var path in new[] { vocabPath, mergesPath })
            if (!File.Exists(path)) throw new DiffuserException($"CLIP tokenizer file missing: {path}");
        var settings = ClipTokenizerSettings.Read(folder);
        var vocabulary = ReadVocabulary(vocabPath);
        var options = new BpeOptions(vocabulary)
        {
            Merges = ReadMerges(mergesPath),
            ByteLevel = true,
            EndOfWordSuffix = "</w>",
            PreTokenizer = ClipPreTokenizer.Instance,
            // The regex keeps these whole and transformers' BPE cache maps them to themselves.
            SpecialTokens = ClipPreTokenizer.SpecialTokens.Where(vocabulary.ContainsKey).ToDictionary(t => t, t => vocabulary[t]),
            UnknownToken = settings.UnknownToken,
        };
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new DiffuserException($"{folder}: cannot build the BPE tokenizer: {e.Message}", e);
        }
        return new ClipTokenizer(bpe, settings, vocabulary, folder);
    }

    /// <summary>A pipeline folder's tokenizer: <c>&lt;modelFolder&gt;/tokenizer</c> (SDXL's second is <c>tokenizer_2</c>).</summary>
    public static ClipTokenizer FromModelFolder(string modelFolder, string subfolder = "tokenizer") => Load(Path.Combine(modelFolder, subfolder));

    /// <summary>The prompt's BPE tokens and ids without BOS/EOS (transformers' <c>tokenize</c> + <c>convert_tokens_to_ids</c>).</summary>
    public IReadOnlyList<ClipToken> Tokenize(string prompt)
    {
        var tokens = new List<ClipToken>();
        Encode(prompt, tokens, new List<int>());
        return tokens;
    }

    /// <summary>BOS, every id of the prompt, EOS: not truncated, not padded.</summary>
    public int[] EncodeUnpadded(string prompt)
    {
        var ids = new List<int> { BosId };
        Encode(prompt, null, ids);
        ids.Add(EosId);
        return ids.ToArray();
    }

    /// <summary>The prompt as the text encoder takes it: <see cref="MaxLength"/> ids, truncated and padded.</summary>
    public ClipTokenization Encode(string prompt)
    {
        var unpadded = EncodeUnpadded(prompt);
        var ids = new int[MaxLength];
        var mask = new int[MaxLength];
        int kept = Math.Min(unpadded.Length, MaxLength);
        unpadded.AsSpan(0, kept).CopyTo(ids);
        ids[kept - 1] = EosId;
        ids.AsSpan(kept).Fill(PadId);
        mask.AsSpan(0, kept).Fill(1);
        return new ClipTokenization(ids, mask, unpadded.Length);
    }

    /// <summary>Several prompts as one row-major [prompts, <see cref="MaxLength"/>] block of ids for the text encoder.</summary>
    public int[] EncodeBatch(IReadOnlyList<string> prompts)
    {
        var ids = new int[prompts.Count * MaxLength];
        for (int i = 0; i < prompts.Count; i++) Encode(prompts[i]).InputIds.CopyTo(ids, i * MaxLength);
        return ids;
    }

    private void Encode(string prompt, List<ClipToken>? tokens, List<int> ids)
    {
        int start = 0;
        while (true)
        {
            int at = FindAddedToken(prompt, start, out var added);
            EncodeText(prompt[start..at], tokens, ids);
            if (at == prompt.Length) return;
            tokens?.Add(added);
            ids.Add(added.Id);
            start = at + added.Text.Length;
        }
    }

    /// <summary>The first position at or after <paramref name="start"/> where a special token begins (longest wins),
    /// or the prompt's length.</summary>
    private int FindAddedToken(string prompt, int start, out ClipToken found)
    {
        for (int i = start; i < prompt.Length; i++)
            foreach (var t in _addedTokens)
                if (string.CompareOrdinal(prompt, i, t.Text, 0, t.Text.Length) == 0)
                {
                    found = t;
                    return i;
                }
        found = default;
        return prompt.Length;
    }

    private void EncodeText(string text, List<ClipToken>? tokens, List<int> ids)
    {
        string cleaned = ClipTextCleaner.Clean(text);
        if (cleaned.Length == 0) return;
        if (tokens is null)
        {
            ids.AddRange(_bpe.EncodeToIds(cleaned, considerPreTokenization: true, considerNormalization: false));
            return;
        }
        foreach (var t in _bpe.EncodeToTokens(cleaned, out _, considerPreTokenization: true, considerNormalization: false))
        {
            tokens.Add(new ClipToken(t.Value, t.Id));
            ids.Add(t.Id);
        }
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path));
            return vocabulary is { Count: > 0 } ? vocabulary : throw new DiffuserException($"{path}: the vocabulary is empty.");
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{path}: not a JSON object of token → id: {e.Message}", e);
        }
    }

    /// <summary>As transformers: drop the first line (<c>#version: 0.2</c>), keep at most <see cref="MaxMerges"/>.</summary>
    private static List<string> ReadMerges(string path)
    {
        var lines = File.ReadAllText(path).Trim().Split('\n').Skip(1).Take(MaxMerges).ToList();
        var merges = new List<string>(lines.Count);
        for (int i = 0; i < lines.Count; i++)
        {
            var pair = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (pair.Length != 2) throw new DiffuserException($"{path}: line {i + 2} '{lines[i].Trim()}' is not a merge of two symbols.");
            merges.Add($"{pair[0]} {pair[1]}");
        }
        return merges;
    }
}

/// <summary>One BPE token (<c>photo&lt;/w&gt;</c>, <c>na</c>, or a special token) and its vocabulary id.</summary>
public readonly record struct ClipToken(string Text, int Id);
