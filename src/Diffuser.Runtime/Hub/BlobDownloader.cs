using System.Net;

namespace Diffuser.Hub;

/// <summary>
/// Downloads one file into <c>blobs/{etag}</c> of a repository cache, as huggingface_hub does: bytes go to
/// <c>blobs/{etag}.incomplete</c> (resumed with a Range request from its length, across retries and across runs),
/// the size and content hash are checked against the hub's headers, and only a verified file is renamed to its
/// blob name. A file that fails its check is deleted; one interrupted by an error or cancellation stays
/// <c>.incomplete</c> for the next run to resume. Nothing is ever written into a snapshot here.
/// </summary>
internal sealed class BlobDownloader(HubApi api, HubSettings settings)
{
    private const int ProgressStep = 256 * 1024;

    /// <summary>Makes sure <c>blobs/{etag}</c> exists and is verified; <paramref name="progress"/> gets bytes done.</summary>
    public async Task DownloadAsync(HubRepoCache cache, string repoPath, HubFileMetadata file, Action<long> progress, CancellationToken cancellation)
    {
        string blob = cache.BlobPath(file.Etag);
        if (File.Exists(blob)) return;
        Directory.CreateDirectory(cache.BlobsDirectory);
        using var held = await FileLock.AcquireAsync(cache.LockPath(file.Etag), cancellation);
        if (File.Exists(blob)) return;  // another process finished it while we waited

        string incomplete = cache.IncompletePath(file.Etag);
        using var hash = new ContentHash(file.Etag, file.Size);
        try
        {
            long length;
            await using (var stream = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true))
            {
                await FetchWithRetriesAsync(stream, hash, repoPath, file, progress, cancellation);
                length = stream.Length;
            }
            if (file.Size >= 0 && length != file.Size)
                throw new BadContentException($"{repoPath} has {length} bytes but the hub announced {file.Size}");
            if (hash.Mismatch() is { } actual)
                throw new BadContentException($"{repoPath} failed its {hash.Algorithm} check: the hub's etag is {file.Etag}, the downloaded bytes hash to {actual}");
        }
        catch (BadContentException e)
        {
            // Bytes that contradict the hub's headers are useless for resuming.
            File.Delete(incomplete);
            throw new DiffuserException($"{cache.Id.RepoId}: {e.Message}. The partial file was deleted; run again to download it afresh.", e);
        }
        File.Move(incomplete, blob, overwrite: true);
    }

    private async Task FetchWithRetriesAsync(FileStream stream, ContentHash hash, string repoPath, HubFileMetadata file,
        Action<long> progress, CancellationToken cancellation)
    {
        for (int attempt = 1; ; attempt++)
        {
            // What is on disk is the truth after any failure: the hash is rebuilt from it before resuming.
            long done = stream.Length;
            if (file.Size >= 0 && done > file.Size) done = Truncate(stream);
            hash.Restart();
            await hash.AppendExistingAsync(stream, done, cancellation);
            progress(done);
            try
            {
                await FetchAsync(stream, hash, repoPath, file, done, progress, cancellation);
                return;
            }
            catch (Exception e) when (IsTransient(e, cancellation))
            {
                await stream.FlushAsync(CancellationToken.None);
                if (attempt >= settings.DownloadAttempts)
                    throw new DiffuserException($"Downloading {repoPath} from {file.Location} failed after {attempt} attempts " +
                        $"({stream.Length} of {(file.Size >= 0 ? file.Size.ToString() : "?")} bytes): {e.Message}. " +
                        "Run again to resume from the partial download.", e);
                await Task.Delay(settings.RetryDelay * Math.Pow(2, attempt - 1), cancellation);
            }
        }
    }

    private async Task FetchAsync(FileStream stream, ContentHash hash, string repoPath, HubFileMetadata file, long done,
        Action<long> progress, CancellationToken cancellation)
    {
        if (file.Size >= 0 && done == file.Size) return;
        using var response = await api.GetBytesAsync(file.Location, done, repoPath, cancellation);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            if (response.Content.Headers.ContentRange?.Length is { } length && file.Size >= 0 && length != file.Size)
                throw new BadContentException($"{repoPath} has {length} bytes on the server but the hub announced {file.Size}");
            Truncate(stream);
            throw new IOException($"the server could not resume at byte {done}; starting over");
        }
        bool resumed = done > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == done;
        if (done > 0 && !resumed)
        {
            // The server sent the whole file (it ignored or misplaced the range): start over.
            done = Truncate(stream);
            hash.Restart();
        }
        stream.Position = done;
        await using var body = await response.Content.ReadAsStreamAsync(cancellation);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var buffer = new byte[1 << 16];
        long reported = done;
        while (true)
        {
            stall.CancelAfter(settings.StallTimeout);
            int read = await body.ReadAsync(buffer, stall.Token);
            if (read == 0) break;
            await stream.WriteAsync(buffer.AsMemory(0, read), cancellation);
            hash.Append(buffer.AsSpan(0, read));
            done += read;
            if (file.Size >= 0 && done > file.Size)
                throw new BadContentException($"{repoPath} is longer than the {file.Size} bytes the hub announced");
            if (done - reported >= ProgressStep) progress(reported = done);
        }
        await stream.FlushAsync(cancellation);
        if (file.Size >= 0 && done < file.Size) throw new IOException($"the connection ended after {done} of {file.Size} bytes");
        if (done != reported) progress(done);
    }

    private static long Truncate(FileStream stream)
    {
        stream.SetLength(0);
        return 0;
    }

    /// <summary>Network trouble worth retrying: dropped connections, server errors, stalls (not the caller's cancellation).</summary>
    private static bool IsTransient(Exception e, CancellationToken cancellation) => e switch
    {
        HttpRequestException or IOException => true,
        OperationCanceledException => !cancellation.IsCancellationRequested,
        _ => false,
    };

    /// <summary>Downloaded bytes that contradict the hub's size or hash: not retried, and the partial file is deleted.</summary>
    private sealed class BadContentException(string message) : Exception(message);
}
