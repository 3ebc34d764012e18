using System.Text.Encodings.Web;
using System.Text.Json;

namespace Diffuser.Cli;

/// <summary>The JSON every <c>--json</c> option prints: indented, camelCase names, non-ASCII text as it is.</summary>
public static class CliJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // output for terminals and programs, never embedded in HTML: "×" rather than "\u00D7"
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
