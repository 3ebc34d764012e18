using Diffuser.Imaging;
using Diffuser.Pipelines;

namespace Diffuser.Cli.Generation;

/// <summary>An image ready to be written, with its seed and A1111 <c>parameters</c> text.</summary>
public sealed record OutputImage(RgbImage Image, ulong Seed, string Parameters);

/// <summary>
/// Where <c>diffuser generate</c> writes: one PNG file (an <c>--output</c> ending in .png) or a folder of A1111-style
/// numbered files, plus the optional latents file. Everything is checked before any work is done (an existing file
/// needs <c>--overwrite</c>; the destination must be a writable folder), and written all or nothing: each file goes
/// to a temporary name first, and if one write fails or is cancelled, the files and folders this run already
/// created are removed again.
/// </summary>
public sealed class GenerationOutputs
{
    private readonly string? _file, _folder, _latents;
    private readonly bool _overwrite;

    private GenerationOutputs(string? file, string? folder, string? latents, bool overwrite)
    {
        _file = file;
        _folder = folder;
        _latents = latents;
        _overwrite = overwrite;
    }

    /// <summary>Checks the destinations of a run of <paramref name="imageCount"/> images; throws a <see cref="DiffuserException"/> naming the problem.</summary>
    public static GenerationOutputs Plan(string output, string? saveLatents, int imageCount, bool overwrite)
    {
        string full = Path.GetFullPath(output);
        bool isFile = !Directory.Exists(full) && full.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
        if (isFile)
        {
            if (imageCount > 1)
                throw new DiffuserException($"--output {full} names one file, but this run makes {imageCount} images; give a folder for numbered file names instead.");
            CheckNew(full, overwrite);
            CheckWritable(Path.GetDirectoryName(full)!, full);
        }
        else
        {
            if (File.Exists(full))
                throw new DiffuserException($"--output {full} is a file; give a folder for numbered file names, or a name ending in .png for one image.");
            CheckWritable(full, full);
        }
        string? latents = saveLatents is null ? null : Path.GetFullPath(saveLatents);
        if (latents is not null)
        {
            if (Directory.Exists(latents)) throw new DiffuserException($"--save-latents {latents} is a folder; give a .safetensors file name.");
            CheckNew(latents, overwrite);
            CheckWritable(Path.GetDirectoryName(latents)!, latents);
        }
        return new GenerationOutputs(isFile ? full : null, isFile ? null : full, latents, overwrite);
    }

    /// <summary>Writes the latents (when asked for) and every image; returns the image paths in order.</summary>
    public IReadOnlyList<string> Save(IReadOnlyList<OutputImage> images, LatentBatch? latents, CancellationToken cancellation)
    {
        var createdFolders = MissingFolders(_folder ?? Path.GetDirectoryName(_file)!)
            .Concat(_latents is null ? [] : MissingFolders(Path.GetDirectoryName(_latents)!))
            .Distinct().OrderByDescending(f => f.Length).ToList();
        var written = new List<string>();
        try
        {
            if (_latents is not null)
            {
                cancellation.ThrowIfCancellationRequested();
                CheckNew(_latents, _overwrite);
                Directory.CreateDirectory(Path.GetDirectoryName(_latents)!);
                LatentFiles.SaveFinalLatents(_latents, latents ?? throw new InvalidOperationException("The run returned no latents to save."));
                written.Add(_latents);
            }
            var paths = new List<string>();
            foreach (var image in images)
            {
                string path = _file is not null
                    ? PngImageFile.Save(image.Image, _file, image.Parameters, _overwrite, cancellation)
                    : PngImageFile.SaveNumbered(image.Image, _folder!, (long)image.Seed, image.Parameters, cancellation);
                written.Add(path);
                paths.Add(path);
            }
            return paths;
        }
        catch
        {
            foreach (string path in written) File.Delete(path);
            foreach (string folder in createdFolders.Where(f => Directory.Exists(f) && !Directory.EnumerateFileSystemEntries(f).Any()))
                Directory.Delete(folder);
            throw;
        }
    }

    private static void CheckNew(string path, bool overwrite)
    {
        if (!overwrite && File.Exists(path))
            throw new DiffuserException($"{path} already exists; pass --overwrite to replace it, or choose another name.");
    }

    /// <summary>
    /// <paramref name="folder"/> exists and takes files, or can be created: its nearest existing ancestor is a folder
    /// in which a file can be created (tried with a temporary file that deletes itself).
    /// </summary>
    private static void CheckWritable(string folder, string target)
    {
        string existing = folder;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new DiffuserException($"Cannot write {target}: {existing} is a file, not a folder.");
            existing = Path.GetDirectoryName(existing) ?? throw new DiffuserException($"Cannot write {target}: no part of its folder exists.");
        }
        try
        {
            using var probe = new FileStream(Path.Combine(existing, $".diffuser-write-check-{Guid.NewGuid():N}"), FileMode.CreateNew,
                FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DiffuserException($"Cannot write {target}: {existing} does not take new files ({e.Message}).", e);
        }
    }

    /// <summary>The folders that writing into <paramref name="folder"/> would create, deepest first.</summary>
    private static IEnumerable<string> MissingFolders(string folder)
    {
        for (string? f = folder; f is not null && !Directory.Exists(f); f = Path.GetDirectoryName(f)) yield return f;
    }
}
