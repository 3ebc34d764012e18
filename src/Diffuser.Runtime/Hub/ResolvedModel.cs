namespace Diffuser.Hub;

/// <summary>Where a resolved model's files came from.</summary>
public enum ModelSource
{
    /// <summary>A folder given by path, used as it is.</summary>
    LocalFolder,
    /// <summary>A hub id whose files were all in the local Hugging Face cache already (no network used).</summary>
    HubCache,
    /// <summary>A hub id for which at least one file was downloaded into the cache.</summary>
    HubDownload,
}

/// <summary>
/// A model ready to load: <see cref="Folder"/> is a diffusers folder (model_index.json + component folders, or one
/// component's config.json + weights); for a hub id it is the cache snapshot, whose files are symlinks into blobs/.
/// </summary>
/// <param name="Folder">The folder to load from (absolute).</param>
/// <param name="Source">How the folder was found.</param>
/// <param name="HubId">The repository and requested revision; null for a local folder.</param>
/// <param name="Commit">The commit hash of the snapshot; null for a local folder.</param>
/// <param name="DownloadedFiles">Repository paths downloaded by this resolution (empty when nothing was fetched).</param>
public sealed record ResolvedModel(string Folder, ModelSource Source, HubModelId? HubId, string? Commit, IReadOnlyList<string> DownloadedFiles)
{
    /// <summary>The name to record with generated images: the hub id (with its revision unless main), else the folder's name.</summary>
    public string DisplayName => HubId?.ToString() ?? Path.GetFileName(Folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
}
