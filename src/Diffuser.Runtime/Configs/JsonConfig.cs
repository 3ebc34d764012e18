using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffuser.Configs;

/// <summary>
/// Reads diffusers / transformers config.json files into records whose properties carry the JSON names
/// (snake_case). Unknown keys are ignored, as diffusers ignores them; a missing file or bad JSON names the path.
/// </summary>
public static class JsonConfig
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static T Load<T>(string path)
    {
        if (!File.Exists(path)) throw new DiffuserException($"Config file not found: {path}");
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                ?? throw new DiffuserException($"{path}: the config is empty (null).");
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{path}: cannot read {typeof(T).Name}: {e.Message}", e);
        }
    }
}
