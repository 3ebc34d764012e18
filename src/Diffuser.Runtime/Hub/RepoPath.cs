namespace Diffuser.Hub;

/// <summary>
/// Paths inside a repository as the hub writes them (<c>unet/config.json</c>, '/'-separated). Every path that comes
/// from the network or the cache is checked before it touches the disk, so that no name can reach outside the
/// cache folder.
/// </summary>
public static class RepoPath
{
    /// <summary>The folder part of a repository path ("" for a file at the root).</summary>
    public static string FolderOf(string repoPath) => repoPath.LastIndexOf('/') is var slash and >= 0 ? repoPath[..slash] : "";

    /// <summary>The file name part of a repository path.</summary>
    public static string NameOf(string repoPath) => repoPath[(repoPath.LastIndexOf('/') + 1)..];

    /// <summary>Whether the path is relative, non-empty and free of ".", "..", empty segments, '\\' and ':'.</summary>
    public static bool IsSafe(string repoPath) =>
        repoPath.Length > 0 && !repoPath.Contains('\\') && !repoPath.Contains(':') && !repoPath.Contains('\0')
        && repoPath.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");

    /// <summary>The path with the platform's separator; throws for an unsafe path.</summary>
    public static string ToLocal(string repoPath) => IsSafe(repoPath)
        ? repoPath.Replace('/', Path.DirectorySeparatorChar)
        : throw new DiffuserException($"Refusing the repository path '{repoPath}': it must be relative, without '.', '..', '\\' or ':' segments.");
}
