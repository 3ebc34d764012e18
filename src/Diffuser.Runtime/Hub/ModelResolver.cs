using Diffuser.IO;

namespace Diffuser.Hub;

/// <summary>
/// Turns what a user passes as <c>--model</c> into a folder to load from:
/// <list type="number">
/// <item>a path to an existing folder is used as it is (also when it looks like a hub id: a local folder shadows the hub);</item>
/// <item>a hub id (<c>org/name[@revision]</c>) whose files are all in the Hugging Face cache is served from there, with
/// no network (the cache diffusers fills, so its downloads are reused);</item>
/// <item>otherwise the files a pipeline needs (see <see cref="PipelineFiles"/>) are downloaded into that cache, in
/// huggingface_hub's layout, and the revision's ref is written once the snapshot is complete.</item>
/// </list>
/// Offline (HF_HUB_OFFLINE) or with the hub unreachable, a missing model is a <see cref="DiffuserException"/> that
/// says how to pass a local folder instead.
/// </summary>
public sealed class ModelResolver : IDisposable
{
    private readonly string _workingDirectory;
    private readonly bool _ownsHttp;
    private HttpClient? _http;

    /// <param name="settings">Cache, endpoint, token and offline mode (<see cref="HubSettings.FromEnvironment()"/>).</param>
    /// <param name="http">An HttpClient that does not follow redirects itself; null: one made by <see cref="HubApiClient"/>.</param>
    /// <param name="workingDirectory">What relative folder paths are relative to; null: the current directory.</param>
    public ModelResolver(HubSettings settings, HttpClient? http = null, string? workingDirectory = null)
    {
        Settings = settings;
        _http = http;
        _ownsHttp = http is null;
        _workingDirectory = workingDirectory ?? Directory.GetCurrentDirectory();
    }

    public HubSettings Settings { get; }

    /// <summary>An HttpClient configured as the resolver needs it (no automatic redirects, no decompression).</summary>
    public static HttpClient HubApiClient() => HubApi.CreateHttpClient();

    /// <summary>
    /// The synchronous form of <see cref="ResolveAsync"/>, for command handlers. It runs on the thread pool, so a
    /// caller's synchronisation context (a UI thread) cannot deadlock it.
    /// </summary>
    public ResolvedModel Resolve(string model, ModelFileOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellation = default) =>
        Task.Run(() => ResolveAsync(model, options, progress, cancellation), CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Resolves <paramref name="model"/> (a folder path or a hub id) to a folder holding what a pipeline loads.</summary>
    public async Task<ResolvedModel> ResolveAsync(string model, ModelFileOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        options ??= new ModelFileOptions();
        string text = model.Trim();
        if (text.Length == 0) throw new DiffuserException("No model given: pass a diffusers folder or a hub id such as stable-diffusion-v1-5/stable-diffusion-v1-5.");
        string path = Path.GetFullPath(Path.Combine(_workingDirectory, text));
        if (Directory.Exists(path)) return new ResolvedModel(path, ModelSource.LocalFolder, null, null, []);
        if (File.Exists(path))
            throw new DiffuserException($"{path} is a file; a diffusers model is a folder (model_index.json and component folders) or a hub id.");
        if (!HubModelId.TryParse(text, out var id))
            throw new DiffuserException($"Model not found: {path} is not a folder, and '{text}' is not a hub id (org/name or org/name@revision).");

        var cache = new HubRepoCache(Settings.CacheDirectory, id);
        string? cachedCommit = cache.ResolveCommit(id.Revision);
        var local = cachedCommit is null ? null : CheckSnapshot(cache, cachedCommit, options);
        if (local is { IsComplete: true }) return new ResolvedModel(cache.SnapshotDirectory(cachedCommit!), ModelSource.HubCache, id, cachedCommit, []);
        if (Settings.Offline) throw NotCached(cache, cachedCommit, local, "HF_HUB_OFFLINE is set, so nothing is downloaded");
        try
        {
            return await DownloadAsync(cache, options, progress, cancellation);
        }
        catch (HttpRequestException e)
        {
            throw NotCached(cache, cachedCommit, local, $"{Settings.Endpoint} cannot be reached ({e.Message})");
        }
    }

    /// <summary>Which of a snapshot's files a pipeline would use, and what it lacks.</summary>
    private static PipelineFileSet CheckSnapshot(HubRepoCache cache, string commit, ModelFileOptions options)
    {
        var files = cache.ListSnapshotFiles(commit);
        var components = files.Contains(DiffusersFolder.ModelIndexFile) ? DiffusersFolder.ReadComponents(cache.SnapshotDirectory(commit)) : null;
        return PipelineFiles.Select(files, components, options);
    }

    private async Task<ResolvedModel> DownloadAsync(HubRepoCache cache, ModelFileOptions options, IProgress<DownloadProgress>? progress,
        CancellationToken cancellation)
    {
        var api = new HubApi(_http ??= HubApi.CreateHttpClient(), Settings);
        var downloader = new BlobDownloader(api, Settings);
        var id = cache.Id;
        var revision = await api.GetRevisionAsync(id, cancellation);
        string commit = revision.Commit;
        var downloaded = new List<string>();

        async Task Fetch(IReadOnlyList<string> paths, bool report)
        {
            var missing = paths.Where(p => !File.Exists(cache.SnapshotFile(commit, p))).ToList();
            for (int i = 0; i < missing.Count; i++)
            {
                string path = missing[i];
                var metadata = await api.GetFileMetadataAsync(id, commit, path, cancellation);
                int number = i + 1;
                await downloader.DownloadAsync(cache, path, metadata,
                    done => { if (report) progress?.Report(new DownloadProgress(id.RepoId, path, done, metadata.Size, number, missing.Count)); },
                    cancellation);
                cache.LinkIntoSnapshot(commit, path, metadata.Etag);
                downloaded.Add(path);
            }
        }

        IReadOnlyList<DiffusersComponentRef>? components = null;
        if (revision.Files.Contains(DiffusersFolder.ModelIndexFile))
        {
            await Fetch([DiffusersFolder.ModelIndexFile], report: false);
            components = DiffusersFolder.ReadComponents(cache.SnapshotDirectory(commit));
        }
        var selection = PipelineFiles.Select(revision.Files, components, options);
        if (!selection.IsComplete)
            throw new DiffuserException($"{id} (commit {commit}) cannot be loaded as a diffusers pipeline: {string.Join("; ", selection.Problems)}.");
        await Fetch(selection.Files, report: true);

        var check = CheckSnapshot(cache, commit, options);
        if (!check.IsComplete)
            throw new DiffuserException($"{id}: the snapshot {cache.SnapshotDirectory(commit)} is still incomplete after downloading: {string.Join("; ", check.Problems)}.");
        cache.WriteRef(id.Revision, commit);
        return new ResolvedModel(cache.SnapshotDirectory(commit), downloaded.Count > 0 ? ModelSource.HubDownload : ModelSource.HubCache,
            id, commit, downloaded);
    }

    private DiffuserException NotCached(HubRepoCache cache, string? commit, PipelineFileSet? local, string why)
    {
        string state = commit is null
            ? $"revision '{cache.Id.Revision}' is not in the Hugging Face cache ({cache.Root})"
            : $"its cached snapshot {cache.SnapshotDirectory(commit)} is incomplete ({string.Join("; ", local!.Problems)})";
        return new DiffuserException($"Cannot load {cache.Id}: {state}, and {why}. " +
            "Pass the path of a local diffusers folder instead (one holding model_index.json with unet/, vae/, text_encoder/, " +
            "tokenizer/ and scheduler/), e.g. --model /path/to/stable-diffusion-v1-5, or download the model once with network access " +
            "(HF_ENDPOINT selects a mirror; partial downloads are kept and resumed).");
    }

    public void Dispose()
    {
        if (_ownsHttp) _http?.Dispose();
        _http = null;
    }
}
