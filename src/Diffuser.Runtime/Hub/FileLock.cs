namespace Diffuser.Hub;

/// <summary>
/// An exclusive lock on a lock file (huggingface_hub's <c>.locks/.../{etag}.lock</c>), so that two processes
/// downloading the same blob do not write the same <c>.incomplete</c> file. Held while the object lives.
/// </summary>
internal sealed class FileLock : IDisposable
{
    // The HRESULT .NET gives the IOException when another handle holds the file exclusively (flock on Unix).
    private const int SharingViolation = unchecked((int)0x80070020);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    private readonly FileStream _stream;

    private FileLock(FileStream stream) => _stream = stream;

    /// <summary>Waits (polling) until the lock is free or <paramref name="cancellation"/> fires.</summary>
    public static async Task<FileLock> AcquireAsync(string path, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (e.HResult == SharingViolation)
            {
                await Task.Delay(Poll, cancellation);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
