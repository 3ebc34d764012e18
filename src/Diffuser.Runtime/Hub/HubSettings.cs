namespace Diffuser.Hub;

/// <summary>
/// Where Hugging Face models are cached and fetched from, read from the same environment variables as
/// huggingface_hub so that models diffusers has already downloaded are found:
/// <list type="bullet">
/// <item><c>HF_HUB_CACHE</c>, else <c>HF_HOME</c>/hub, else <c>XDG_CACHE_HOME</c>/huggingface/hub, else
/// <c>~/.cache/huggingface/hub</c> (the legacy <c>HUGGINGFACE_HUB_CACHE</c> is honoured after <c>HF_HUB_CACHE</c>);</item>
/// <item><c>HF_ENDPOINT</c> (default https://huggingface.co), <c>HF_TOKEN</c> (sent as a Bearer token),
/// <c>HF_HUB_OFFLINE</c> (1/true/yes/on: never touch the network).</item>
/// </list>
/// </summary>
public sealed record HubSettings
{
    /// <summary>huggingface_hub's default endpoint.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    /// <summary>The hub cache folder (the one holding <c>models--{org}--{name}</c> folders).</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>The hub's base address; files are fetched from <c>{endpoint}/{repo}/resolve/{revision}/{path}</c>.</summary>
    public Uri Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>An access token for gated or private repositories, or null.</summary>
    public string? Token { get; init; }

    /// <summary>When set, only the local cache is used; a model that is not complete there is an error.</summary>
    public bool Offline { get; init; }

    /// <summary>How many times one file's download is tried before giving up (a dropped connection resumes).</summary>
    public int DownloadAttempts { get; init; } = 5;

    /// <summary>The pause before the first retry; it doubles with each further one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A download that receives nothing for this long is abandoned (and retried).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Settings from the process environment.</summary>
    public static HubSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Settings from an environment given as a lookup (tests pass a dictionary instead of changing the process's
    /// variables). <c>HOME</c> (or <c>USERPROFILE</c>) locates <c>~</c>; without either, the user profile folder.
    /// </summary>
    public static HubSettings FromEnvironment(Func<string, string?> variable)
    {
        string? Get(string name) => variable(name) is { Length: > 0 } value ? value : null;
        string home = Get("HOME") ?? Get("USERPROFILE") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Expand(string path) => path == "~" ? home
            : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal) ? Path.Combine(home, path[2..])
            : path;

        string hfHome = Get("HF_HOME") is { } h ? Expand(h)
            : Path.Combine(Get("XDG_CACHE_HOME") is { } xdg ? Expand(xdg) : Path.Combine(home, ".cache"), "huggingface");
        string? explicitCache = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE");
        string cache = explicitCache is not null ? Expand(explicitCache) : Path.Combine(hfHome, "hub");
        return new HubSettings
        {
            CacheDirectory = Path.GetFullPath(cache),
            Endpoint = Get("HF_ENDPOINT") is { } endpoint ? ParseEndpoint(endpoint) : DefaultEndpoint,
            Token = Get("HF_TOKEN"),
            Offline = IsTrue(Get("HF_HUB_OFFLINE")),
        };
    }

    /// <summary>huggingface_hub's truthy values for boolean variables.</summary>
    private static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static Uri ParseEndpoint(string text)
    {
        if (!Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new DiffuserException($"HF_ENDPOINT '{text}' is not an http(s) address such as {DefaultEndpoint}.");
        return uri;
    }
}
