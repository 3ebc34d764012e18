namespace Diffuser.Tests.Infrastructure;

/// <summary>Locations of the repository and of the shared models and goldens beside it (<c>../shared</c>).</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string Golden(params string[] parts) => Path.Combine([Shared, "golden", .. parts]);
    public static string Model(string name) => Path.Combine(Shared, "models", name);
    public static string Image(string name) => Path.Combine(Shared, "images", name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffuser.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Diffuser.sln above {AppContext.BaseDirectory}.");
    }
}
