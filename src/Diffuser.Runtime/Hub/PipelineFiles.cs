using System.Text.RegularExpressions;
using Diffuser.IO;

namespace Diffuser.Hub;

/// <summary>Which files of a model repository a pipeline needs.</summary>
public sealed record ModelFileOptions
{
    /// <summary>
    /// The weight variant to prefer (<c>fp16</c> for <c>diffusion_pytorch_model.fp16.safetensors</c>); a component
    /// without it gets its default weights. Null: the default (full-precision) weights.
    /// </summary>
    public string? Variant { get; init; }

    /// <summary>Also fetch <c>safety_checker</c> and the <c>feature_extractor</c> it needs (skipped by default).</summary>
    public bool IncludeSafetyChecker { get; init; }

    /// <summary>Configs, tokenizer and scheduler files without any weights: what a single-file checkpoint needs beside it.</summary>
    public bool ConfigsOnly { get; init; }
}

/// <summary>The files chosen from a repository listing, and what a pipeline would miss (empty when it has all it needs).</summary>
public sealed record PipelineFileSet(IReadOnlyList<string> Files, IReadOnlyList<string> Problems)
{
    public bool IsComplete => Problems.Count == 0;
}

/// <summary>
/// Chooses, from a list of repository paths, the files that loading a pipeline reads: <c>model_index.json</c>; per
/// component its JSON/text files (config, scheduler config, tokenizer files) and one set of safetensors weights
/// (the requested variant when the component has it, else the default weights, else the only variant there is).
/// PyTorch <c>.bin</c>, <c>.ckpt</c>, ONNX and Flax files, top-level single-file checkpoints and the optional
/// components (safety checker, feature extractor, image encoder) are never chosen unless asked for. A repository
/// without model_index.json but with a top-level config.json is one component (a VAE such as TAESD).
/// The same rule tells whether a local snapshot is complete, so a second resolution needs no network.
/// </summary>
public static partial class PipelineFiles
{
    public const string ConfigFile = "config.json";

    private static readonly string[] OptionalComponents = ["safety_checker", "feature_extractor", "image_encoder"];

    /// <param name="available">Repository paths with '/' (the hub's sibling list, or a snapshot's files).</param>
    /// <param name="components">model_index.json's components; null for a single-component repository.</param>
    public static PipelineFileSet Select(IReadOnlyCollection<string> available, IReadOnlyList<DiffusersComponentRef>? components,
        ModelFileOptions options)
    {
        var files = new List<string>();
        var problems = new List<string>();
        if (components is null)
        {
            if (!available.Contains(ConfigFile))
                problems.Add($"neither {DiffusersFolder.ModelIndexFile} nor {ConfigFile}: not a diffusers pipeline or model");
            else
                AddComponent("", ComponentKind.Model, available, options, files, problems);
            return new PipelineFileSet(files, problems);
        }
        files.Add(DiffusersFolder.ModelIndexFile);
        foreach (var component in components.Where(c => IsWanted(c.Name, options)))
            AddComponent(component.Name, KindOf(component.ClassName), available, options, files, problems);
        return new PipelineFileSet(files, problems);
    }

    private static bool IsWanted(string component, ModelFileOptions options) =>
        !OptionalComponents.Contains(component) || (options.IncludeSafetyChecker && component is "safety_checker" or "feature_extractor");

    private enum ComponentKind { Model, Scheduler, Tokenizer, ImageProcessor }

    private static ComponentKind KindOf(string className) =>
        className.EndsWith("Scheduler", StringComparison.Ordinal) ? ComponentKind.Scheduler
        : className.Contains("Tokenizer", StringComparison.Ordinal) ? ComponentKind.Tokenizer
        : className.Contains("ImageProcessor", StringComparison.Ordinal) || className.Contains("FeatureExtractor", StringComparison.Ordinal) ? ComponentKind.ImageProcessor
        : ComponentKind.Model;

    /// <summary>The files a component of this kind cannot be loaded without (beyond its weights).</summary>
    private static string[] RequiredFiles(ComponentKind kind, IReadOnlyCollection<string> names) => kind switch
    {
        ComponentKind.Scheduler => ["scheduler_config.json"],
        // CLIP's byte-level BPE reads vocab.json and merges.txt; other tokenizers at least have their config.
        ComponentKind.Tokenizer => names.Contains("merges.txt") || names.Contains("vocab.json") ? ["vocab.json", "merges.txt"] : ["tokenizer_config.json"],
        ComponentKind.ImageProcessor => ["preprocessor_config.json"],
        _ => [ConfigFile],
    };

    private static void AddComponent(string folder, ComponentKind kind, IReadOnlyCollection<string> available,
        ModelFileOptions options, List<string> files, List<string> problems)
    {
        string label = folder.Length == 0 ? "the model" : folder;
        var names = available.Where(p => RepoPath.FolderOf(p) == folder).Select(RepoPath.NameOf).ToList();
        if (names.Count == 0)
        {
            problems.Add($"{label}: the folder is missing or empty");
            return;
        }
        foreach (string required in RequiredFiles(kind, names).Where(r => !names.Contains(r)))
            problems.Add($"{label}: {required} is missing");

        var weights = kind == ComponentKind.Model && !options.ConfigsOnly ? ChooseWeights(label, names, options.Variant, problems) : [];
        var chosen = names.Where(n => IsSmallFile(n, kind) && !IsWeightIndex(n)).Concat(weights);
        files.AddRange(chosen.Select(n => folder.Length == 0 ? n : $"{folder}/{n}").Order(StringComparer.Ordinal));
    }

    /// <summary>Configs and tokenizer files: JSON and text (plus sentencepiece models for tokenizers).</summary>
    private static bool IsSmallFile(string name, ComponentKind kind) =>
        name.EndsWith(".json", StringComparison.Ordinal) || name.EndsWith(".txt", StringComparison.Ordinal)
        || (kind == ComponentKind.Tokenizer && name.EndsWith(".model", StringComparison.Ordinal));

    /// <summary>
    /// One variant's safetensors files and index: the requested variant, else the default weights, else the first
    /// variant there is. Sharded weights must be complete and come with their index.
    /// </summary>
    private static List<string> ChooseWeights(string label, List<string> names, string? variant, List<string> problems)
    {
        var groups = names.Where(n => n.EndsWith(".safetensors", StringComparison.Ordinal))
            .GroupBy(DiffusersFolder.VariantOf).ToDictionary(g => g.Key ?? "", g => g.Order(StringComparer.Ordinal).ToList());
        if (groups.Count == 0)
        {
            var other = names.Where(n => !IsSmallFile(n, ComponentKind.Model)).ToList();
            problems.Add($"{label}: no safetensors weights" + (other.Count > 0 ? $" (present: {string.Join(", ", other)})" : "")
                + "; Diffuser reads only safetensors, convert PyTorch .bin/.ckpt weights first");
            return [];
        }
        string key = variant is not null && groups.ContainsKey(variant) ? variant
            : groups.ContainsKey("") ? "" : groups.Keys.Order(StringComparer.Ordinal).First();
        var chosen = groups[key];
        var shards = chosen.Select(n => (Name: n, Match: Shard().Match(n))).Where(s => s.Match.Success).ToList();
        if (shards.Count > 0)
        {
            int total = int.Parse(shards[0].Match.Groups["total"].Value);
            for (int i = 1; i <= total; i++)
                if (!shards.Any(s => int.Parse(s.Match.Groups["index"].Value) == i))
                    problems.Add($"{label}: weight shard {i} of {total} is missing");
            var index = names.Where(n => IsWeightIndex(n) && IndexVariant(n) == (key.Length == 0 ? null : key)).ToList();
            if (index.Count == 0) problems.Add($"{label}: the sharded weights have no .safetensors index JSON");
            chosen = [.. chosen, .. index];
        }
        return chosen;
    }

    /// <summary>A weight index of any format (<c>x.safetensors.index.json</c>, <c>x.bin.index.fp16.json</c>, ...).</summary>
    private static bool IsWeightIndex(string name) =>
        name.EndsWith(".json", StringComparison.Ordinal) && name.Contains(".index.", StringComparison.Ordinal);

    /// <summary>
    /// The variant of a safetensors index: diffusers writes <c>x.safetensors.index.fp16.json</c>, older versions and
    /// transformers <c>x.safetensors.fp16.index.json</c>; a .bin index is no safetensors index (variant "-").
    /// </summary>
    private static string? IndexVariant(string name)
    {
        var match = SafetensorsIndex().Match(name);
        if (!match.Success) return "-";
        return match.Groups["before"].Success ? match.Groups["before"].Value : match.Groups["after"].Success ? match.Groups["after"].Value : null;
    }

    [GeneratedRegex(@"-(?<index>\d+)-of-(?<total>\d+)\.safetensors$")]
    private static partial Regex Shard();

    [GeneratedRegex(@"^[^.]+\.safetensors(?:\.(?<before>[^.]+))?\.index(?:\.(?<after>[^.]+))?\.json$")]
    private static partial Regex SafetensorsIndex();
}
