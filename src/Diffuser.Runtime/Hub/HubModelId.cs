using System.Text.RegularExpressions;

namespace Diffuser.Hub;

/// <summary>
/// A Hugging Face model repository and revision as written on the command line:
/// <c>stable-diffusion-v1-5/stable-diffusion-v1-5</c> or <c>org/name@revision</c> (a branch, tag or commit hash;
/// <c>main</c> when omitted).
/// </summary>
/// <param name="RepoId">The repository id, <c>org/name</c> (or a bare <c>name</c>).</param>
/// <param name="Revision">The branch, tag or 40-digit commit hash.</param>
public sealed partial record HubModelId(string RepoId, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>The cache folder name huggingface_hub uses: <c>models--{org}--{name}</c>.</summary>
    public string CacheFolderName => "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>Whether <see cref="Revision"/> is already a commit hash (then no <c>refs/</c> file maps it).</summary>
    public bool RevisionIsCommit => IsCommitHash(Revision);

    /// <summary>Parses <c>org/name[@revision]</c>; false for anything that is not a valid repository id.</summary>
    public static bool TryParse(string text, out HubModelId id)
    {
        id = null!;
        int at = text.IndexOf('@');
        string repo = at < 0 ? text : text[..at];
        string revision = at < 0 ? DefaultRevision : text[(at + 1)..];
        if (!IsValidRepoId(repo) || !IsValidRevision(revision)) return false;
        id = new HubModelId(repo, revision);
        return true;
    }

    /// <summary>A git commit hash as the hub reports it: 40 lower-case hex digits.</summary>
    public static bool IsCommitHash(string text) => CommitHash().IsMatch(text);

    /// <summary>huggingface_hub's rule: one or two name segments of letters, digits, '_', '-', '.', no "--" or "..".</summary>
    private static bool IsValidRepoId(string repo)
    {
        var parts = repo.Split('/');
        return parts.Length is 1 or 2 && parts.All(p => RepoSegment().IsMatch(p))
            && !repo.Contains("--", StringComparison.Ordinal) && !repo.Contains("..", StringComparison.Ordinal);
    }

    /// <summary>Branch and tag names may contain '/', never whitespace, "..", a leading '/' or an empty segment.</summary>
    private static bool IsValidRevision(string revision) =>
        revision.Length > 0 && !revision.Any(char.IsWhiteSpace) && !revision.Contains("..", StringComparison.Ordinal)
        && !revision.Split('/').Any(s => s.Length == 0) && !revision.Contains('\\');

    public override string ToString() => Revision == DefaultRevision ? RepoId : $"{RepoId}@{Revision}";

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitHash();

    [GeneratedRegex("^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoSegment();
}
