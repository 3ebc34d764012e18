using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Diffuser.Tests.Hub;

/// <summary>One request the fake hub received.</summary>
public sealed record HubRequest(string Method, string Path, string? Range, string? Authorization);

/// <summary>
/// A minimal Hugging Face hub on 127.0.0.1 (a raw TcpListener, one request per connection) serving one repository
/// at one commit: <c>GET /api/models/{repo}/revision/{rev}</c> with the sibling list, <c>HEAD/GET
/// /{repo}/resolve/{rev}/{path}</c> with the hub's headers (regular files: 200 with the git blob id as ETag; LFS
/// files, the .safetensors: 302 to an absolute <c>/cdn/{sha256}</c> address with <c>X-Linked-Etag</c> and
/// <c>X-Linked-Size</c>), Range requests, and failure injection: a connection dropped part-way through a file, a
/// wrong sha256 or size advertised for a file, a required token.
/// </summary>
public sealed class FakeHubServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Dictionary<string, byte[]> _files;
    private readonly ConcurrentDictionary<string, long> _drops = new();
    private readonly ConcurrentDictionary<string, bool> _wrongSha = new();
    private readonly ConcurrentDictionary<string, long> _sizes = new();

    public FakeHubServer(string repoId, IReadOnlyDictionary<string, byte[]> files, string? requiredToken = null)
    {
        RepoId = repoId;
        _files = new Dictionary<string, byte[]>(files);
        RequiredToken = requiredToken;
        Commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(repoId + string.Join(",", files.Keys.Order()))));
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = Task.Run(AcceptLoop);
    }

    public string RepoId { get; }
    public string Commit { get; }
    public string? RequiredToken { get; }
    public Uri Endpoint { get; }
    public IReadOnlyDictionary<string, byte[]> Files => _files;
    public ConcurrentQueue<HubRequest> Requests { get; } = new();

    public static bool IsLfs(string path) => path.EndsWith(".safetensors", StringComparison.Ordinal);

    /// <summary>The etag the hub gives a file: sha256 for LFS files, the git blob id otherwise.</summary>
    public static string EtagOf(string path, byte[] content) => IsLfs(path)
        ? Convert.ToHexStringLower(SHA256.HashData(content))
        : Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    /// <summary>The next GET of <paramref name="path"/>'s bytes sends all headers, then only <paramref name="bytes"/> bytes, then drops.</summary>
    public void DropConnectionAfter(string path, long bytes) => _drops[path] = bytes;

    /// <summary>Advertises a sha256 for <paramref name="path"/> that its content does not have.</summary>
    public void AdvertiseWrongSha(string path) => _wrongSha[path] = true;

    /// <summary>Advertises <paramref name="size"/> as the X-Linked-Size of the LFS file <paramref name="path"/>.</summary>
    public void AdvertiseSize(string path, long size) => _sizes[path] = size;

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (method, target, headers) = await ReadRequestAsync(stream);
                headers.TryGetValue("range", out var range);
                headers.TryGetValue("authorization", out var authorization);
                Requests.Enqueue(new HubRequest(method, target, range, authorization));
                await RouteAsync(stream, method, Uri.UnescapeDataString(target), range, authorization);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away: nothing to answer.
            }
        }
    }

    private async Task RouteAsync(NetworkStream stream, string method, string target, string? range, string? authorization)
    {
        if (RequiredToken is not null && authorization != $"Bearer {RequiredToken}")
        {
            await RespondAsync(stream, method, 401, "Unauthorized", [], "Invalid credentials"u8.ToArray());
            return;
        }
        string api = $"/api/models/{RepoId}/revision/";
        string resolve = $"/{RepoId}/resolve/";
        if (method == "GET" && target.StartsWith(api, StringComparison.Ordinal))
        {
            string revision = target[api.Length..];
            if (revision != "main" && revision != Commit)
            {
                await RespondAsync(stream, method, 404, "Not Found", [], "Revision not found"u8.ToArray());
                return;
            }
            var body = JsonSerializer.SerializeToUtf8Bytes(new { id = RepoId, sha = Commit, siblings = _files.Keys.Order().Select(k => new { rfilename = k }) });
            await RespondAsync(stream, method, 200, "OK", [("Content-Type", "application/json")], body);
        }
        else if (target.StartsWith(resolve, StringComparison.Ordinal) && target[resolve.Length..].Split('/', 2) is [var rev, var path]
                 && (rev == "main" || rev == Commit) && _files.TryGetValue(path, out var content))
        {
            var common = new List<(string, string)> { ("X-Repo-Commit", Commit) };
            if (IsLfs(path))
            {
                string sha = _wrongSha.ContainsKey(path) ? Convert.ToHexStringLower(SHA256.HashData("wrong"u8)) : EtagOf(path, content);
                common.AddRange([("X-Linked-Etag", $"\"{sha}\""), ("X-Linked-Size", _sizes.GetValueOrDefault(path, content.Length).ToString()), ("ETag", "\"pointer-etag\""),
                    ("Location", $"{Endpoint.AbsoluteUri.TrimEnd('/')}/cdn/{path}")]);
                await RespondAsync(stream, method, 302, "Found", common, ReadOnlyMemory<byte>.Empty);
            }
            else
            {
                common.Add(("ETag", $"\"{EtagOf(path, content)}\""));
                await SendFileAsync(stream, method, path, content, range, common);
            }
        }
        else if (target.StartsWith("/cdn/", StringComparison.Ordinal) && _files.TryGetValue(target[5..], out var lfs))
        {
            await SendFileAsync(stream, method, target[5..], lfs, range, []);
        }
        else
        {
            await RespondAsync(stream, method, 404, "Not Found", [], "Entry not found"u8.ToArray());
        }
    }

    private async Task SendFileAsync(NetworkStream stream, string method, string path, byte[] content, string? range, List<(string, string)> headers)
    {
        long from = range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) ? long.Parse(range[6..].TrimEnd('-')) : 0;
        if (from >= content.Length && from > 0)
        {
            await RespondAsync(stream, method, 416, "Range Not Satisfiable", [("Content-Range", $"bytes */{content.Length}")], ReadOnlyMemory<byte>.Empty);
            return;
        }
        var body = content.AsMemory((int)from);
        if (from > 0) headers.Add(("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}"));
        long? dropAfter = method == "GET" && _drops.TryRemove(path, out long drop) ? drop - from : null;
        await RespondAsync(stream, method, from > 0 ? 206 : 200, from > 0 ? "Partial Content" : "OK", headers, body, dropAfter);
    }

    private static async Task RespondAsync(NetworkStream stream, string method, int status, string reason,
        IEnumerable<(string Name, string Value)> headers, ReadOnlyMemory<byte> body, long? dropAfter = null)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers) head.Append($"{name}: {value}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        if (method == "HEAD") return;
        await stream.WriteAsync(dropAfter is { } n ? body[..(int)Math.Clamp(n, 0, body.Length)] : body);
        await stream.FlushAsync();
    }

    private static async Task<(string Method, string Target, Dictionary<string, string> Headers)> ReadRequestAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var buffer = new byte[1];
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(buffer) == 0) throw new IOException("request ended early");
            bytes.Add(buffer[0]);
        }
        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (requestLine[0], requestLine[1], headers);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _accepting.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        _stop.Dispose();
    }
}
