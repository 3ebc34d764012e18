using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Diffuser.Imaging;

/// <summary>
/// AUTOMATIC1111's "infotext", byte for byte as its <c>create_infotext</c> writes it and its
/// <c>parse_generation_parameters</c> reads it: the prompt; <c>Negative prompt: ...</c> on the next line when there
/// is one; then one line of <c>key: value</c> settings joined by ", " (a value containing ',', ':' or a newline is
/// JSON-quoted as Python's <c>json.dumps(ensure_ascii=False)</c> does); the whole text stripped of surrounding
/// whitespace. Settings appear in A1111's order: Steps, Sampler, Schedule type, CFG scale, Seed, Size (WxH),
/// Model hash, Model, VAE, Denoising strength, Clip skip, then the extra ones. Numbers use the invariant culture
/// and the shortest round-trip form (7.5, 7, 0.75).
/// </summary>
public static partial class Infotext
{
    private const string NegativePrefix = "Negative prompt:";

    public static string Format(GenerationParameters parameters)
    {
        var p = parameters;
        List<KeyValuePair<string, string?>> settings =
        [
            new("Steps", p.Steps?.ToString(CultureInfo.InvariantCulture)),
            new("Sampler", p.Sampler),
            new("Schedule type", p.ScheduleType),
            new("CFG scale", Number(p.CfgScale)),
            new("Seed", p.Seed?.ToString(CultureInfo.InvariantCulture)),
            new("Size", p.Width is { } w && p.Height is { } h ? string.Create(CultureInfo.InvariantCulture, $"{w}x{h}") : null),
            new("Model hash", p.ModelHash),
            new("Model", p.Model),
            new("VAE", p.Vae),
            new("Denoising strength", Number(p.DenoisingStrength)),
            new("Clip skip", p.ClipSkip is > 1 ? p.ClipSkip.Value.ToString(CultureInfo.InvariantCulture) : null),
            .. p.Extra.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)),
        ];
        string line = string.Join(", ", settings.Where(s => s.Value is not null).Select(s => s.Key == s.Value ? s.Key : $"{s.Key}: {Quote(s.Value!)}"));
        string negative = p.NegativePrompt.Length > 0 ? $"\n{NegativePrefix} {p.NegativePrompt}" : "";
        return $"{p.Prompt}{negative}\n{line}".Trim();
    }

    /// <summary>
    /// Reads an infotext: the last line holds the settings when at least three <c>key: value</c> pairs are found in
    /// it; lines before "Negative prompt:" are the prompt, the rest the negative prompt (each line trimmed, joined
    /// with newlines). Known settings fill their fields; the rest (and known ones whose value does not parse) go to
    /// <see cref="GenerationParameters.Extra"/> in order.
    /// </summary>
    public static GenerationParameters Parse(string text)
    {
        var lines = text.Trim().Split('\n').ToList();
        string settingsLine = lines[^1];
        if (Setting().Matches(settingsLine).Count < 3) settingsLine = "";
        else lines.RemoveAt(lines.Count - 1);

        var prompt = new StringBuilder();
        var negative = new StringBuilder();
        bool inNegative = false;
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.StartsWith(NegativePrefix, StringComparison.Ordinal))
            {
                inNegative = true;
                line = line[NegativePrefix.Length..].Trim();
            }
            var target = inNegative ? negative : prompt;
            if (target.Length > 0) target.Append('\n');
            target.Append(line);
        }

        var result = new GenerationParameters { Prompt = prompt.ToString(), NegativePrompt = negative.ToString() };
        var extra = new List<KeyValuePair<string, string>>();
        foreach (Match match in Setting().Matches(settingsLine))
        {
            string key = match.Groups[1].Value, value = Unquote(match.Groups[2].Value);
            var updated = With(result, key, value);
            if (updated is null) extra.Add(new(key, value));
            else result = updated;
        }
        return result with { Extra = extra };
    }

    /// <summary>The parameters with a known setting filled in; null when the key is unknown or its value does not parse.</summary>
    private static GenerationParameters? With(GenerationParameters p, string key, string value)
    {
        const NumberStyles integer = NumberStyles.Integer;
        var inv = CultureInfo.InvariantCulture;
        return key switch
        {
            "Steps" when int.TryParse(value, integer, inv, out int steps) => p with { Steps = steps },
            "Sampler" => p with { Sampler = value },
            "Schedule type" => p with { ScheduleType = value },
            "CFG scale" when double.TryParse(value, NumberStyles.Float, inv, out double cfg) => p with { CfgScale = cfg },
            "Seed" when long.TryParse(value, integer, inv, out long seed) => p with { Seed = seed },
            "Size" when ImageSize().Match(value) is { Success: true } size =>
                p with { Width = int.Parse(size.Groups[1].Value, inv), Height = int.Parse(size.Groups[2].Value, inv) },
            "Model hash" => p with { ModelHash = value },
            "Model" => p with { Model = value },
            "VAE" => p with { Vae = value },
            "Denoising strength" when double.TryParse(value, NumberStyles.Float, inv, out double strength) => p with { DenoisingStrength = strength },
            "Clip skip" when int.TryParse(value, integer, inv, out int skip) => p with { ClipSkip = skip },
            _ => null,
        };
    }

    private static string? Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A1111's <c>quote</c>: values with ',', '\n' or ':' become a JSON string as Python writes it (non-ASCII kept).</summary>
    public static string Quote(string value)
    {
        if (!value.Contains(',') && !value.Contains('\n') && !value.Contains(':')) return value;
        var json = new StringBuilder("\"");
        foreach (char c in value)
        {
            json.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return json.Append('"').ToString();
    }

    /// <summary>A1111's <c>unquote</c>: a JSON string value is decoded; anything else (or bad JSON) stays as it is.</summary>
    public static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"') return value;
        try { return JsonSerializer.Deserialize<string>(value) ?? value; }
        catch (JsonException) { return value; }
    }

    /// <summary>A1111's <c>re_param</c>: a key of word characters, spaces, '-' and '/', then a quoted or comma-free value.</summary>
    [GeneratedRegex("""\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)""")]
    private static partial Regex Setting();

    [GeneratedRegex(@"^([0-9]+)x([0-9]+)$")]
    private static partial Regex ImageSize();
}
