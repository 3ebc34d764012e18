using System.Net;
using System.Net.Sockets;
using Diffuser.Hub;
using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Hub;

/// <summary>Resolution without downloads: local folders, the cache read as huggingface_hub writes it, and the errors.</summary>
public sealed class ModelResolverTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private HubSettings Settings(Uri? endpoint = null, bool offline = false) => new()
    {
        CacheDirectory = _temp.File("hf-cache"),
        Endpoint = endpoint ?? ClosedEndpoint(),
        Offline = offline,
        RetryDelay = TimeSpan.Zero,
    };

    /// <summary>A loopback address nothing listens on.</summary>
    private static Uri ClosedEndpoint()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    /// <summary>Writes tiny-sd into the temp cache the way huggingface_hub does: blobs, relative snapshot links, refs/main.</summary>
    private string PopulateCache(string repoFolder, string commit)
    {
        string source = TestPaths.Model("tiny-sd");
        string root = Path.Combine(_temp.File("hf-cache"), repoFolder);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string path = Path.GetRelativePath(source, file).Replace(Path.DirectorySeparatorChar, '/');
            byte[] content = File.ReadAllBytes(file);
            string blob = Path.Combine(root, "blobs", FakeHubServer.EtagOf(path, content));
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            File.WriteAllBytes(blob, content);
            string link = Path.Combine(root, "snapshots", commit, path);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob));
        }
        Directory.CreateDirectory(Path.Combine(root, "refs"));
        File.WriteAllText(Path.Combine(root, "refs", "main"), commit);
        return Path.Combine(root, "snapshots", commit);
    }

    private const string Commit = "0123456789abcdef0123456789abcdef01234567";

    [Fact]
    public void ExistingFolderIsUsedAsIs()
    {
        using var resolver = new ModelResolver(Settings());
        var model = resolver.Resolve(TestPaths.Model("tiny-sd"));
        Assert.Equal(ModelSource.LocalFolder, model.Source);
        Assert.Equal(TestPaths.Model("tiny-sd"), model.Folder);
        Assert.Null(model.HubId);
        Assert.Equal("tiny-sd", model.DisplayName);
    }

    [Fact]
    public void LocalFolderShadowsAHubIdOfTheSameName()
    {
        string work = _temp.File("work");
        Directory.CreateDirectory(Path.Combine(work, "test-org"));
        Directory.CreateSymbolicLink(Path.Combine(work, "test-org", "tiny-sd"), TestPaths.Model("tiny-sd"));
        using var resolver = new ModelResolver(Settings(offline: true), workingDirectory: work);
        var model = resolver.Resolve("test-org/tiny-sd");
        Assert.Equal(ModelSource.LocalFolder, model.Source);
        Assert.Equal(Path.Combine(work, "test-org", "tiny-sd"), model.Folder);
    }

    [Fact]
    public void CacheWrittenByHuggingFaceHubIsReusedOffline()
    {
        string snapshot = PopulateCache("models--some-org--tiny-sd", Commit);
        using var resolver = new ModelResolver(Settings(offline: true));
        var model = resolver.Resolve("some-org/tiny-sd");
        Assert.Equal(ModelSource.HubCache, model.Source);
        Assert.Equal(snapshot, model.Folder);
        Assert.Equal("some-org/tiny-sd", model.DisplayName);

        var pinned = resolver.Resolve($"some-org/tiny-sd@{Commit}");
        Assert.Equal(snapshot, pinned.Folder);
        Assert.Equal($"some-org/tiny-sd@{Commit}", pinned.DisplayName);
    }

    [Fact]
    public void SymlinkedSafetensorsFilesOpenWithTheirTargetsLength()
    {
        string snapshot = PopulateCache("models--some-org--tiny-sd", Commit);
        string linked = Path.Combine(snapshot, "vae", "diffusion_pytorch_model.safetensors");
        using var viaLink = SafetensorsFile.Open(linked);
        using var original = SafetensorsFile.Open(Path.Combine(TestPaths.Model("tiny-sd"), "vae", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(original.Tensors.Select(t => (t.Name, t.Begin, t.End)), viaLink.Tensors.Select(t => (t.Name, t.Begin, t.End)));
    }

    [Fact]
    public void OfflineWithoutTheModelSaysHowToPassAFolder()
    {
        using var resolver = new ModelResolver(Settings(offline: true));
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve("stable-diffusion-v1-5/stable-diffusion-v1-5"));
        Assert.Contains("stable-diffusion-v1-5/stable-diffusion-v1-5", e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains("local diffusers folder", e.Message);
        Assert.Contains("--model", e.Message);
    }

    [Fact]
    public void OfflineWithAnIncompleteSnapshotListsWhatIsMissing()
    {
        string snapshot = PopulateCache("models--some-org--tiny-sd", Commit);
        File.Delete(Path.Combine(snapshot, "unet", "diffusion_pytorch_model.safetensors"));
        File.Delete(Path.Combine(snapshot, "tokenizer", "merges.txt"));
        using var resolver = new ModelResolver(Settings(offline: true));
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve("some-org/tiny-sd"));
        Assert.Contains("unet: no safetensors weights", e.Message);
        Assert.Contains("tokenizer: merges.txt is missing", e.Message);
        Assert.Contains("local diffusers folder", e.Message);
    }

    [Fact]
    public void UnreachableEndpointSaysHowToPassAFolder()
    {
        var endpoint = ClosedEndpoint();
        using var resolver = new ModelResolver(Settings(endpoint));
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve("some-org/missing-model"));
        Assert.Contains("cannot be reached", e.Message);
        Assert.Contains(endpoint.Authority, e.Message);
        Assert.Contains("local diffusers folder", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_temp.File("hf-cache"), "models--some-org--missing-model", "snapshots")));
    }

    [Fact]
    public void SilentEndpointTimesOutWithTheSameAdvice()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);  // connections wait in the backlog, never answered
        listener.Start();
        try
        {
            var endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
            using var resolver = new ModelResolver(Settings(endpoint) with { StallTimeout = TimeSpan.FromMilliseconds(300) });
            var e = Assert.Throws<DiffuserException>(() => resolver.Resolve("some-org/missing-model"));
            Assert.Contains("did not answer within 0.3 s", e.Message);
            Assert.Contains("local diffusers folder", e.Message);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData("./no/such/folder")]
    [InlineData("/no/such/folder")]
    [InlineData("a/b/c")]
    [InlineData("bad--name/model")]
    public void NeitherFolderNorHubIdIsNamed(string model)
    {
        using var resolver = new ModelResolver(Settings(offline: true), workingDirectory: _temp.Path);
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve(model));
        Assert.Contains("not a folder", e.Message);
        Assert.Contains("not a hub id", e.Message);
    }

    [Fact]
    public void AFileIsNotAModelFolder()
    {
        string file = _temp.Write("model.safetensors", [1, 2, 3]);
        using var resolver = new ModelResolver(Settings(offline: true));
        var e = Assert.Throws<DiffuserException>(() => resolver.Resolve(file));
        Assert.Contains("is a file", e.Message);
        Assert.Contains("diffusers", e.Message);
    }

    public void Dispose() => _temp.Dispose();
}
