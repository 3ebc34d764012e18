using System.Text.Json;

namespace Diffuser.Text;

/// <summary>
/// The special tokens and length limit of a tokenizer folder, read as transformers reads them: each of
/// <c>bos_token</c>, <c>eos_token</c>, <c>unk_token</c>, <c>pad_token</c> from <c>special_tokens_map.json</c> when it
/// names it, else from <c>tokenizer_config.json</c>, else CLIPTokenizer's default. The SD 2.x folders set the pad
/// token to <c>!</c> (id 0) in special_tokens_map.json while tokenizer_config.json still says <c>&lt;|endoftext|&gt;</c>.
/// </summary>
public sealed record ClipTokenizerSettings(string BosToken, string EosToken, string UnknownToken, string PadToken, int ModelMaxLength)
{
    /// <summary>CLIP's context length, used when tokenizer_config.json gives no model_max_length.</summary>
    public const int DefaultMaxLength = 77;

    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    public static ClipTokenizerSettings Read(string folder)
    {
        using var config = OpenOptional(Path.Combine(folder, TokenizerConfigFile));
        using var map = OpenOptional(Path.Combine(folder, SpecialTokensMapFile));
        string Token(string key, string fallback) =>
            TokenContent(map, key) ?? TokenContent(config, key) ?? fallback;
        return new ClipTokenizerSettings(
            Token("bos_token", "<|startoftext|>"),
            Token("eos_token", "<|endoftext|>"),
            Token("unk_token", "<|endoftext|>"),
            Token("pad_token", "<|endoftext|>"),
            MaxLength(config, Path.Combine(folder, TokenizerConfigFile)));
    }

    private static JsonDocument? OpenOptional(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{path}: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>A token entry is a string or an AddedToken object with a "content" string.</summary>
    private static string? TokenContent(JsonDocument? doc, string key)
    {
        if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(key, out var v))
            return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    private static int MaxLength(JsonDocument? config, string path)
    {
        if (config is null || config.RootElement.ValueKind != JsonValueKind.Object
            || !config.RootElement.TryGetProperty("model_max_length", out var v))
            return DefaultMaxLength;
        // transformers writes 1e30 ("VERY_LARGE_INTEGER") when a tokenizer has no limit; CLIP always has one.
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int length) || length < 2 || length > 65536)
            throw new DiffuserException($"{path}: model_max_length {v.GetRawText()} is not a usable CLIP context length (2..65536).");
        return length;
    }
}
