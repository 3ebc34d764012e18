namespace Diffuser.Tests.Infrastructure;

/// <summary>
/// Locations of the repository (the first folder holding Diffuser.sln above the test assembly) and of the shared
/// models and goldens beside it (<c>../shared</c>). A published test runner unpacked elsewhere (bench/gpu/run.sh on
/// the GPU machine) is pointed at them by the environment variables <c>DIFFUSER_REPO</c> and <c>DIFFUSER_SHARED</c>.
/// </summary>
public static class TestPaths
{
    public const string RepoVariable = "DIFFUSER_REPO", SharedVariable = "DIFFUSER_SHARED";

    private static readonly Lazy<string> Repo = new(() => FromEnvironment(RepoVariable) ?? FindRepoRoot());
    private static readonly Lazy<string> SharedFolder = new(() =>
        FromEnvironment(SharedVariable) ?? Path.GetFullPath(Path.Combine(Repo.Value, "..", "shared")));

    public static string RepoRoot => Repo.Value;
    public static string Shared => SharedFolder.Value;
    public static string Golden(params string[] parts) => Path.Combine([Shared, "golden", .. parts]);
    public static string Model(string name) => Path.Combine(Shared, "models", name);
    public static string Image(string name) => Path.Combine(Shared, "images", name);

    private static string? FromEnvironment(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffuser.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Diffuser.sln above {AppContext.BaseDirectory}; set {RepoVariable} (and {SharedVariable}).");
    }
}
