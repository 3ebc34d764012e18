using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Diffuser.Hub;

/// <summary>A revision of a repository as the hub API reports it: its commit and every file path in it.</summary>
internal sealed record HubRevision(string Commit, IReadOnlyList<string> Files);

/// <summary>
/// What a HEAD request on a file's resolve URL tells (huggingface_hub's <c>get_hf_file_metadata</c>): the etag that
/// names the blob (<c>X-Linked-Etag</c> for LFS files, else <c>ETag</c>), the size (<c>X-Linked-Size</c>, else
/// <c>Content-Length</c>; −1 when unknown) and where the bytes are (the CDN an LFS file redirects to).
/// </summary>
internal sealed record HubFileMetadata(string Etag, long Size, Uri Location);

/// <summary>
/// The few hub HTTP calls a download needs: <c>GET {endpoint}/api/models/{repo}/revision/{revision}</c>,
/// <c>HEAD {endpoint}/{repo}/resolve/{commit}/{path}</c> and ranged GETs of the bytes. The token goes only to the
/// endpoint's own host, never to a CDN it redirects to. HTTP failures with a status become
/// <see cref="DiffuserException"/>s that say what to do; connection failures stay <see cref="HttpRequestException"/>s
/// (the caller retries them or reports the endpoint unreachable).
/// </summary>
internal sealed partial class HubApi(HttpClient http, HubSettings settings)
{
    private const int MaxRedirects = 10;

    /// <summary>An HttpClient suited to the hub: redirects handled here, no decompression, no overall timeout.</summary>
    public static HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("diffuser/1.0");
        return client;
    }

    private string Endpoint => settings.Endpoint.AbsoluteUri.TrimEnd('/');

    public Task<HubRevision> GetRevisionAsync(HubModelId id, CancellationToken cancellation)
    {
        var uri = new Uri($"{Endpoint}/api/models/{id.RepoId}/revision/{Uri.EscapeDataString(id.Revision)}");
        return WithStallTimeout(uri, token => RequestRevisionAsync(id, uri, token), cancellation);
    }

    private async Task<HubRevision> RequestRevisionAsync(HubModelId id, Uri uri, CancellationToken cancellation)
    {
        using var response = await SendAsync(HttpMethod.Get, uri, 0, followAbsolute: true, cancellation);
        EnsureSuccess(response, id, $"revision '{id.Revision}'");
        var body = await response.Content.ReadAsByteArrayAsync(cancellation);
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            string? commit = root.TryGetProperty("sha", out var sha) && sha.ValueKind == JsonValueKind.String ? sha.GetString() : null;
            if (commit is null || !HubModelId.IsCommitHash(commit))
                throw new DiffuserException($"{uri}: the answer has no commit hash ('sha').");
            var files = new List<string>();
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
                foreach (var sibling in siblings.EnumerateArray())
                    if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name)
                        && name.GetString() is { } path && RepoPath.IsSafe(path))
                        files.Add(path);
            return new HubRevision(commit, files);
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{uri}: the hub's answer is not the expected JSON ({e.Message}).", e);
        }
    }

    public Task<HubFileMetadata> GetFileMetadataAsync(HubModelId id, string commit, string repoPath, CancellationToken cancellation)
    {
        string escaped = string.Join('/', repoPath.Split('/').Select(Uri.EscapeDataString));
        var uri = new Uri($"{Endpoint}/{id.RepoId}/resolve/{commit}/{escaped}");
        return WithStallTimeout(uri, token => RequestFileMetadataAsync(id, repoPath, uri, token), cancellation);
    }

    private async Task<HubFileMetadata> RequestFileMetadataAsync(HubModelId id, string repoPath, Uri uri, CancellationToken cancellation)
    {
        // Relative redirects (a renamed repository) are followed; the absolute one to the CDN carries the headers.
        using var response = await SendAsync(HttpMethod.Head, uri, 0, followAbsolute: false, cancellation);
        bool redirect = (int)response.StatusCode is >= 300 and < 400;
        if (!redirect) EnsureSuccess(response, id, repoPath);
        string? etag = Header(response, "X-Linked-Etag") ?? Header(response, "ETag");
        if (etag is null) throw new DiffuserException($"{uri}: the hub sent no ETag, so the file cannot be verified or cached.");
        etag = etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag;
        etag = etag.Trim('"');
        if (!SafeEtag().IsMatch(etag)) throw new DiffuserException($"{uri}: unexpected ETag '{etag}'.");
        long size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked : response.Content.Headers.ContentLength ?? -1;
        var location = redirect && response.Headers.Location is { } to ? (to.IsAbsoluteUri ? to : new Uri(uri, to)) : response.RequestMessage?.RequestUri ?? uri;
        return new HubFileMetadata(etag, size, location);
    }

    /// <summary>
    /// GET the bytes at <paramref name="location"/> from byte <paramref name="from"/> on (a Range request when &gt; 0);
    /// returns once the headers are in (the caller reads the body with its own stall timeout).
    /// </summary>
    public Task<HttpResponseMessage> GetBytesAsync(Uri location, long from, string what, CancellationToken cancellation) =>
        WithStallTimeout(location, token => RequestBytesAsync(location, from, what, token), cancellation);

    private async Task<HttpResponseMessage> RequestBytesAsync(Uri location, long from, string what, CancellationToken cancellation)
    {
        var response = await SendAsync(HttpMethod.Get, location, from, followAbsolute: true, cancellation);
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return response;
        using (response)
        {
            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new HttpRequestException($"{location} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            throw new DiffuserException($"Downloading {what} from {location} failed: {(int)response.StatusCode} {response.ReasonPhrase}.");
        }
    }

    /// <summary>
    /// Runs a call under <see cref="HubSettings.StallTimeout"/>; running out of time becomes an
    /// <see cref="HttpRequestException"/> (retried or reported like a lost connection), while the caller's own
    /// cancellation stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    private async Task<T> WithStallTimeout<T>(Uri uri, Func<CancellationToken, Task<T>> call, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(settings.StallTimeout);
        try
        {
            return await call(timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellation.IsCancellationRequested)
        {
            throw new HttpRequestException($"{uri} did not answer within {settings.StallTimeout.TotalSeconds:0.#} s", e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, long from, bool followAbsolute, CancellationToken cancellation)
    {
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, uri);
            if (settings.Token is not null && uri.Host == settings.Endpoint.Host && uri.Port == settings.Endpoint.Port)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location && hop < MaxRedirects
                && (followAbsolute || !location.IsAbsoluteUri))
            {
                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                response.Dispose();
                continue;
            }
            return response;
        }
    }

    private void EnsureSuccess(HttpResponseMessage response, HubModelId id, string what)
    {
        if (response.IsSuccessStatusCode) return;
        string status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        string tokenHint = settings.Token is null
            ? "If it is private or gated, accept its terms on the hub and set HF_TOKEN to an access token."
            : "The token in HF_TOKEN was sent; check that it grants access to this repository.";
        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
            throw new HttpRequestException($"{settings.Endpoint} answered {status} for {id.RepoId} ({what})", null, response.StatusCode);
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                new DiffuserException($"{settings.Endpoint} refused access to {id.RepoId} ({what}): {status}. {tokenHint}"),
            HttpStatusCode.NotFound =>
                new DiffuserException($"{id.RepoId}: {what} was not found on {settings.Endpoint} ({status}). Check the repository id and revision. {tokenHint}"),
            _ => new DiffuserException($"{settings.Endpoint} answered {status} for {id.RepoId} ({what})."),
        };
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var content) ? content.FirstOrDefault() : null;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,128}$")]
    private static partial Regex SafeEtag();
}
