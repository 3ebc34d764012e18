namespace Diffuser.Hub;

/// <summary>
/// One model repository in the Hugging Face cache, laid out exactly as huggingface_hub does it:
/// <code>
/// {cache}/models--{org}--{name}/
///   refs/{revision}                  the commit hash the revision pointed to when it was last fetched
///   blobs/{etag}                     file contents, named by their etag (sha256 for LFS files, git sha1 otherwise)
///   blobs/{etag}.incomplete          a download in progress (resumed from its length)
///   snapshots/{commit}/{path}        relative symlinks into blobs/ (copies where links cannot be made)
/// {cache}/.locks/models--{org}--{name}/{etag}.lock
/// </code>
/// </summary>
public sealed class HubRepoCache
{
    private const string TempMarker = ".diffuser-tmp-";

    public HubRepoCache(string cacheDirectory, HubModelId id)
    {
        Id = id;
        Root = Path.Combine(cacheDirectory, id.CacheFolderName);
        LocksDirectory = Path.Combine(cacheDirectory, ".locks", id.CacheFolderName);
    }

    public HubModelId Id { get; }
    /// <summary>The repository's folder: <c>{cache}/models--{org}--{name}</c>.</summary>
    public string Root { get; }
    public string LocksDirectory { get; }
    public string BlobsDirectory => Path.Combine(Root, "blobs");

    /// <summary>The snapshot folder of a commit: what a pipeline loads from.</summary>
    public string SnapshotDirectory(string commit) => Path.Combine(Root, "snapshots", commit);

    /// <summary>The local path of a repository file (<c>unet/config.json</c>) in a commit's snapshot.</summary>
    public string SnapshotFile(string commit, string repoPath) => Path.Combine(SnapshotDirectory(commit), RepoPath.ToLocal(repoPath));

    public string BlobPath(string etag) => Path.Combine(BlobsDirectory, etag);
    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";
    public string LockPath(string etag) => Path.Combine(LocksDirectory, etag + ".lock");

    /// <summary>
    /// The commit a revision resolves to without the network: the revision itself when it is a commit hash,
    /// else the hash stored in <c>refs/{revision}</c>; null when the revision was never fetched.
    /// </summary>
    public string? ResolveCommit(string revision)
    {
        if (HubModelId.IsCommitHash(revision)) return revision;
        string refFile = Path.Combine(Root, "refs", RepoPath.ToLocal(revision));
        if (!File.Exists(refFile)) return null;
        string commit = File.ReadAllText(refFile).Trim();
        return HubModelId.IsCommitHash(commit) ? commit : null;
    }

    /// <summary>Records that <paramref name="revision"/> points to <paramref name="commit"/> (written atomically).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        string refFile = Path.Combine(Root, "refs", RepoPath.ToLocal(revision));
        Directory.CreateDirectory(Path.GetDirectoryName(refFile)!);
        string temp = TempName(refFile);
        try
        {
            File.WriteAllText(temp, commit);
            File.Move(temp, refFile, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// The repository paths (with '/') of the files a commit's snapshot holds; a link whose blob is gone does not
    /// count, nor does a temporary file left by an interrupted link.
    /// </summary>
    public IReadOnlyList<string> ListSnapshotFiles(string commit)
    {
        string snapshot = SnapshotDirectory(commit);
        if (!Directory.Exists(snapshot)) return [];
        return Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
            .Where(path => !path.Contains(TempMarker, StringComparison.Ordinal) && File.Exists(path))
            .Select(path => Path.GetRelativePath(snapshot, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Puts a blob into a commit's snapshot as a relative symlink (a copy where the file system or the user's
    /// rights allow no links), replacing whatever was there in one rename so that a reader never sees half a file.
    /// </summary>
    public void LinkIntoSnapshot(string commit, string repoPath, string etag)
    {
        string target = SnapshotFile(commit, repoPath);
        string blob = BlobPath(etag);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        string temp = TempName(target);
        try
        {
            try
            {
                File.CreateSymbolicLink(temp, Path.GetRelativePath(Path.GetDirectoryName(target)!, blob));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                File.Copy(blob, temp, overwrite: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>A temporary name beside <paramref name="path"/>, so that the final rename stays on one file system.</summary>
    internal static string TempName(string path) => $"{path}{TempMarker}{Guid.NewGuid():N}";
}
