namespace Diffuser.Tests.Infrastructure;

/// <summary>
/// Locations of the shared models and goldens: <c>&lt;repo root&gt;/../shared</c>, or the folder named by the
/// environment variable <c>DIFFUSER_SHARED</c> (a published test runner on a machine without the repository, such as
/// bench/gpu/run.sh on the GPU machine, points it at the unpacked data).
/// </summary>
public static class TestPaths
{
    public const string SharedVariable = "DIFFUSER_SHARED";

    public static string Shared { get; } = Environment.GetEnvironmentVariable(SharedVariable) is { Length: > 0 } shared
        ? Path.GetFullPath(shared)
        : Path.GetFullPath(Path.Combine(FindRepoRoot(), "..", "shared"));

    public static string Golden(params string[] parts) => Path.Combine([Shared, "golden", .. parts]);
    public static string Model(string name) => Path.Combine(Shared, "models", name);
    public static string Image(string name) => Path.Combine(Shared, "images", name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffuser.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Diffuser.sln above {AppContext.BaseDirectory}; set {SharedVariable} to the shared data folder.");
    }
}
