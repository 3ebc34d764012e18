using Diffuser.Hub;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;
using Diffuser.Text;

namespace Diffuser.Tests.Hub;

/// <summary>Downloads from a fake hub on loopback into a temporary Hugging Face cache, and loading from that cache.</summary>
public sealed class ModelDownloadTests(FakeHubRepository repository) : IClassFixture<FakeHubRepository>, IDisposable
{
    private readonly TempDirectory _temp = new();

    private string CacheDirectory => _temp.File("hf-cache");
    private string RepoRoot => Path.Combine(CacheDirectory, "models--test-org--tiny-sd");

    private HubSettings Settings(FakeHubServer server, int attempts = 5) => new()
    {
        CacheDirectory = CacheDirectory,
        Endpoint = server.Endpoint,
        DownloadAttempts = attempts,
        RetryDelay = TimeSpan.Zero,
        Token = server.RequiredToken,
    };

    private static ResolvedModel Resolve(HubSettings settings, ModelFileOptions? options = null, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        using var resolver = new ModelResolver(settings);
        return resolver.Resolve(FakeHubRepository.RepoId, options, progress, cancellation);
    }

    private static string BlobName(string path, byte[] content) => FakeHubServer.EtagOf(path, content);

    [Fact]
    public void DownloadsIntoTheHuggingFaceCacheLayoutAndLoadsFromIt()
    {
        using var server = repository.Serve();
        var progress = new RecordingProgress();
        var model = Resolve(Settings(server), progress: progress);

        string snapshot = Path.Combine(RepoRoot, "snapshots", server.Commit);
        Assert.Equal(ModelSource.HubDownload, model.Source);
        Assert.Equal(snapshot, model.Folder);
        Assert.Equal(server.Commit, model.Commit);
        Assert.Equal(server.Commit, File.ReadAllText(Path.Combine(RepoRoot, "refs", "main")));
        Assert.Equal(repository.PipelineFiles, model.DownloadedFiles.Order(StringComparer.Ordinal));

        foreach (string path in repository.PipelineFiles)
        {
            string file = Path.Combine(snapshot, path);
            var link = new FileInfo(file).LinkTarget;
            Assert.NotNull(link);
            Assert.False(Path.IsPathRooted(link), $"{path} links to an absolute path {link}");
            string blob = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, link));
            Assert.Equal(Path.Combine(RepoRoot, "blobs", BlobName(path, repository.Files[path])), blob);
            Assert.Equal(repository.Files[path], File.ReadAllBytes(file));
        }
        foreach (string path in FakeHubRepository.NeverFetched.Append(FakeHubRepository.UnetFp16Weights))
            Assert.False(File.Exists(Path.Combine(snapshot, path)), $"{path} should not have been downloaded");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoRoot, "blobs"), "*.incomplete"));

        // Every downloaded file reported its progress up to its full size, never going backwards.
        foreach (var reports in progress.Reports.GroupBy(r => r.File))
        {
            Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.BytesDone <= p.Second.BytesDone), reports.Key);
            Assert.True(reports.Last().IsComplete, reports.Key);
            Assert.Equal(repository.Files[reports.Key].Length, reports.Last().BytesTotal);
        }
        Assert.Equal(repository.PipelineFiles.Where(p => p != "model_index.json"), progress.Reports.Select(r => r.File).Distinct().Order(StringComparer.Ordinal));

        // The loaders read through the snapshot's symlinks.
        using var backend = TestBackend.Create();
        using var unet = UNet2DConditionModel.FromModelFolder(model.Folder, backend);
        using var vae = AutoencoderKL.FromModelFolder(model.Folder, backend);
        using var text = ClipTextModel.FromModelFolder(model.Folder, backend);
        var tokenizer = ClipTokenizer.FromModelFolder(model.Folder);
        using var original = UNet2DConditionModel.FromModelFolder(TestPaths.Model("tiny-sd"), backend);
        Assert.Equal(original.ParameterCount, unet.ParameterCount);
        Assert.Equal(49408, tokenizer.VocabularySize);
    }

    [Fact]
    public void SecondResolutionUsesTheCacheWithoutNetwork()
    {
        using var server = repository.Serve();
        var first = Resolve(Settings(server));
        int requests = server.Requests.Count;

        var second = Resolve(Settings(server));
        var offline = Resolve(Settings(server) with { Offline = true });

        Assert.Equal(requests, server.Requests.Count);
        Assert.Equal(ModelSource.HubCache, second.Source);
        Assert.Empty(second.DownloadedFiles);
        Assert.Equal(first.Folder, second.Folder);
        Assert.Equal(first.Folder, offline.Folder);
    }

    [Fact]
    public void DroppedConnectionIsResumedWithARangeRequest()
    {
        using var server = repository.Serve();
        server.DropConnectionAfter(FakeHubRepository.UnetWeights, 1_000_000);
        var model = Resolve(Settings(server));

        var gets = server.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith(FakeHubRepository.UnetWeights, StringComparison.Ordinal)).ToList();
        Assert.Equal([null, "bytes=1000000-"], gets.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Select(r => r.Range));
        Assert.Equal(repository.Files[FakeHubRepository.UnetWeights], File.ReadAllBytes(Path.Combine(model.Folder, FakeHubRepository.UnetWeights)));
    }

    [Fact]
    public void InterruptedDownloadLeavesNothingInTheSnapshotAndTheNextRunResumes()
    {
        using var server = repository.Serve();
        server.DropConnectionAfter(FakeHubRepository.UnetWeights, 1_000_000);
        var e = Assert.Throws<DiffuserException>(() => Resolve(Settings(server, attempts: 1)));
        Assert.Contains(FakeHubRepository.UnetWeights, e.Message);
        Assert.Contains("resume", e.Message);

        string blob = BlobName(FakeHubRepository.UnetWeights, repository.Files[FakeHubRepository.UnetWeights]);
        Assert.Equal(1_000_000, new FileInfo(Path.Combine(RepoRoot, "blobs", blob + ".incomplete")).Length);
        Assert.False(File.Exists(Path.Combine(RepoRoot, "snapshots", server.Commit, FakeHubRepository.UnetWeights)));
        Assert.False(File.Exists(Path.Combine(RepoRoot, "refs", "main")));

        var model = Resolve(Settings(server, attempts: 1));
        Assert.Contains(server.Requests, r => r.Path.EndsWith(FakeHubRepository.UnetWeights, StringComparison.Ordinal) && r.Range == "bytes=1000000-");
        Assert.Equal(repository.Files[FakeHubRepository.UnetWeights], File.ReadAllBytes(Path.Combine(model.Folder, FakeHubRepository.UnetWeights)));
        Assert.Equal(server.Commit, File.ReadAllText(Path.Combine(RepoRoot, "refs", "main")));
    }

    [Fact]
    public void HashMismatchIsAnErrorAndLeavesNoFile()
    {
        using var server = repository.Serve();
        server.AdvertiseWrongSha(FakeHubRepository.VaeWeights);
        var e = Assert.Throws<DiffuserException>(() => Resolve(Settings(server)));
        Assert.Contains(FakeHubRepository.VaeWeights, e.Message);
        Assert.Contains("sha256", e.Message);

        Assert.False(File.Exists(Path.Combine(RepoRoot, "snapshots", server.Commit, FakeHubRepository.VaeWeights)));
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(RepoRoot, "blobs")),
            f => new FileInfo(f).Length == repository.Files[FakeHubRepository.VaeWeights].Length);
        Assert.False(File.Exists(Path.Combine(RepoRoot, "refs", "main")));
    }

    [Theory]
    [InlineData(+10, "bytes on the server but the hub announced")]
    [InlineData(-10, "is longer than the")]
    public void SizeDifferentFromTheAnnouncedOneIsAnErrorAndLeavesNoFile(int difference, string message)
    {
        using var server = repository.Serve();
        int size = repository.Files[FakeHubRepository.VaeWeights].Length;
        server.AdvertiseSize(FakeHubRepository.VaeWeights, size + difference);
        var e = Assert.Throws<DiffuserException>(() => Resolve(Settings(server)));
        Assert.Contains(FakeHubRepository.VaeWeights, e.Message);
        Assert.Contains(message, e.Message);
        Assert.Contains((size + difference).ToString(), e.Message);

        Assert.False(File.Exists(Path.Combine(RepoRoot, "snapshots", server.Commit, FakeHubRepository.VaeWeights)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(RepoRoot, "blobs"), "*.incomplete"));
    }

    [Fact]
    public void CancellationLeavesNoHalfWrittenFileInTheSnapshot()
    {
        using var server = repository.Serve();
        using var cancel = new CancellationTokenSource();
        var progress = new RecordingProgress(p => { if (p.File == FakeHubRepository.UnetWeights && p.BytesDone > 0) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Resolve(Settings(server), progress: progress, cancellation: cancel.Token));

        string snapshot = Path.Combine(RepoRoot, "snapshots", server.Commit);
        Assert.False(File.Exists(Path.Combine(snapshot, FakeHubRepository.UnetWeights)));
        Assert.All(Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories), f =>
        {
            string path = Path.GetRelativePath(snapshot, f).Replace(Path.DirectorySeparatorChar, '/');
            Assert.Equal(repository.Files[path], File.ReadAllBytes(f));
        });
        Assert.False(File.Exists(Path.Combine(RepoRoot, "refs", "main")));
    }

    [Fact]
    public void Fp16VariantIsFetchedWhereItExistsAndDefaultWeightsElsewhere()
    {
        using var server = repository.Serve();
        var model = Resolve(Settings(server), new ModelFileOptions { Variant = "fp16" });
        Assert.Contains(FakeHubRepository.UnetFp16Weights, model.DownloadedFiles);
        Assert.DoesNotContain(FakeHubRepository.UnetWeights, model.DownloadedFiles);
        Assert.Contains(FakeHubRepository.VaeWeights, model.DownloadedFiles);
        Assert.Contains("text_encoder/model.safetensors", model.DownloadedFiles);

        using var backend = TestBackend.Create();
        using var unet = UNet2DConditionModel.FromModelFolder(model.Folder, backend);
        Assert.True(unet.ParameterCount > 0);
    }

    [Fact]
    public void SafetyCheckerIsFetchedOnlyWhenAsked()
    {
        using var server = repository.Serve();
        var model = Resolve(Settings(server), new ModelFileOptions { IncludeSafetyChecker = true });
        Assert.Contains("safety_checker/model.safetensors", model.DownloadedFiles);
        Assert.Contains("safety_checker/config.json", model.DownloadedFiles);
        Assert.Contains("feature_extractor/preprocessor_config.json", model.DownloadedFiles);
    }

    [Fact]
    public void TokenIsSentAsBearerAndItsAbsenceExplained()
    {
        using var server = repository.Serve(requiredToken: "hf_test_token");
        var e = Assert.Throws<DiffuserException>(() => Resolve(Settings(server) with { Token = null }));
        Assert.Contains("401", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);

        var model = Resolve(Settings(server));
        Assert.Equal(ModelSource.HubDownload, model.Source);
        Assert.Null(server.Requests.First().Authorization);
        Assert.All(server.Requests.Skip(1), r => Assert.Equal("Bearer hf_test_token", r.Authorization));
    }

    [Fact]
    public void UnknownRevisionIsNamed()
    {
        using var server = repository.Serve();
        using var resolver = new ModelResolver(Settings(server));
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve($"{FakeHubRepository.RepoId}@no-such-branch"));
        Assert.Contains("no-such-branch", e.Message);
        Assert.Contains("404", e.Message);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Records reports synchronously (unlike <see cref="Progress{T}"/>), optionally acting on each.</summary>
    private sealed class RecordingProgress(Action<DownloadProgress>? onReport = null) : IProgress<DownloadProgress>
    {
        private readonly List<DownloadProgress> _reports = [];

        public IReadOnlyList<DownloadProgress> Reports
        {
            get { lock (_reports) return _reports.ToList(); }
        }

        public void Report(DownloadProgress value)
        {
            lock (_reports) _reports.Add(value);
            onReport?.Invoke(value);
        }
    }
}
