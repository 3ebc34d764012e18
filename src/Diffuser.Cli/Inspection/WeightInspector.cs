using Diffuser.IO;
using Diffuser.Weights;

namespace Diffuser.Cli.Inspection;

/// <summary>Builds the reports of <c>diffuser inspect</c> from safetensors files and diffusers folders.</summary>
public static class WeightInspector
{
    public const string ManifestFile = "weights-manifest.json";

    public static FileReport InspectFile(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var tensors = file.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => new TensorReport(t.Name, t.DType.ToString(), t.Shape, t.ElementCount, t.ByteLength)).ToList();
        return new FileReport(path, tensors.Count, tensors.Sum(t => t.Parameters), tensors.Sum(t => t.Bytes),
            CountDTypes(tensors.Select(t => t.DType)), new SortedDictionary<string, string>(file.Metadata.ToDictionary(), StringComparer.Ordinal), tensors);
    }

    /// <summary>A pipeline folder: every component model_index.json lists, in its order.</summary>
    public static FolderReport InspectPipeline(string directory)
    {
        var components = DiffusersFolder.ReadComponents(directory)
            .SelectMany(c => InspectComponent(directory, Path.Combine(directory, c.Name), c.Name, c.Library, c.ClassName))
            .ToList();
        return Folder(directory, "pipeline", DiffusersFolder.ReadClassName(directory), components);
    }

    /// <summary>A component folder (config.json and weights, or a weights manifest).</summary>
    public static FolderReport InspectComponentFolder(string directory)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var components = InspectComponent(directory, directory, name, null, null);
        if (components.All(c => c.ClassName is null && c.Files.Count == 0))
            throw new DiffuserException($"{directory} is not a diffusers model folder: it has no model_index.json, no config and no .safetensors files.");
        return Folder(directory, "component", components[0].ClassName, components);
    }

    private static List<ComponentReport> InspectComponent(string root, string directory, string name, string? library, string? indexClass)
    {
        string? className = Directory.Exists(directory) ? DiffusersFolder.ReadClassName(directory) ?? indexClass : indexClass;
        var reports = DiffusersFolder.FindWeightFiles(directory)
            .Select(set => FromSafetensors(root, name, library, className, set))
            .ToList();
        string manifest = Path.Combine(directory, ManifestFile);
        if (reports.Count == 0 && File.Exists(manifest)) reports.Add(FromManifest(root, name, library, className, manifest));
        if (reports.Count == 0) reports.Add(new ComponentReport(name, library, className, null, [], 0, 0, 0, new Dictionary<string, int>()));
        return reports;
    }

    private static ComponentReport FromSafetensors(string root, string name, string? library, string? className, SafetensorsWeightFiles set)
    {
        var tensors = new List<SafetensorsTensorInfo>();
        foreach (string path in set.Files)
        {
            using var file = SafetensorsFile.Open(path);
            tensors.AddRange(file.Tensors);
        }
        return new ComponentReport(name, library, className, set.Variant, set.Files.Select(f => Relative(root, f)).ToList(),
            tensors.Count, tensors.Sum(t => t.ElementCount), tensors.Sum(t => t.ByteLength), CountDTypes(tensors.Select(t => t.DType.ToString())));
    }

    private static ComponentReport FromManifest(string root, string name, string? library, string? className, string path)
    {
        using var manifest = new ManifestWeightSource(path);
        long parameters = manifest.Names.Sum(n => manifest.TryGetShape(n, out var shape) ? shape.Aggregate(1L, (a, d) => a * d) : 0);
        return new ComponentReport(name, library, className, null, [Relative(root, path)], manifest.Names.Count(), parameters, null, new Dictionary<string, int>());
    }

    private static FolderReport Folder(string path, string kind, string? className, List<ComponentReport> components)
    {
        long? bytes = components.Any(c => c.Bytes is null) ? null : components.Sum(c => c.Bytes!.Value);
        return new FolderReport(path, kind, className, components, components.Sum(c => c.ParameterCount), bytes);
    }

    private static SortedDictionary<string, int> CountDTypes(IEnumerable<string> dtypes) =>
        new(dtypes.GroupBy(d => d).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
