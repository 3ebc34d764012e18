using System.Security.Cryptography;
using System.Text;

namespace Diffuser.Hub;

/// <summary>
/// The check an etag allows on a downloaded file, fed as the bytes arrive: an LFS file's etag is the sha256 of its
/// content (64 hex digits); a regular git file's etag is its git blob id, sha1("blob {size}\0" + content) (40 hex
/// digits). Any other etag (a CDN's own) allows only the size check.
/// </summary>
internal sealed class ContentHash : IDisposable
{
    private readonly IncrementalHash? _hash;
    private readonly string _expected;
    private readonly long _size;

    public ContentHash(string etag, long size)
    {
        _expected = etag.ToLowerInvariant();
        _size = size;
        _hash = IsHex(_expected, 64) ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256)
            : IsHex(_expected, 40) && size >= 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1)
            : null;
        Restart();
    }

    /// <summary>"sha256", "git sha1" or null when the etag allows no content check.</summary>
    public string? Algorithm => _hash?.AlgorithmName == HashAlgorithmName.SHA256 ? "sha256" : _hash is null ? null : "git sha1";

    /// <summary>Forgets what was fed (a download that starts over).</summary>
    public void Restart()
    {
        if (_hash is null) return;
        _hash.GetHashAndReset();
        if (_hash.AlgorithmName == HashAlgorithmName.SHA1) _hash.AppendData(Encoding.ASCII.GetBytes($"blob {_size}\0"));
    }

    public void Append(ReadOnlySpan<byte> data) => _hash?.AppendData(data);

    /// <summary>Feeds the bytes already on disk (a resumed download) from the start of <paramref name="file"/>.</summary>
    public async Task AppendExistingAsync(FileStream file, long length, CancellationToken cancellation)
    {
        if (_hash is null) return;
        var buffer = new byte[1 << 20];
        file.Position = 0;
        for (long left = length; left > 0;)
        {
            int read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellation);
            if (read == 0) throw new IOException($"{file.Name} ended after {length - left} of {length} bytes while being re-read.");
            _hash.AppendData(buffer, 0, read);
            left -= read;
        }
    }

    /// <summary>The computed digest (hex) when it differs from the etag; null when it matches or cannot be checked.</summary>
    public string? Mismatch()
    {
        if (_hash is null) return null;
        string actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
        return actual == _expected ? null : actual;
    }

    private static bool IsHex(string text, int length) => text.Length == length && text.All(Uri.IsHexDigit);

    public void Dispose() => _hash?.Dispose();
}
