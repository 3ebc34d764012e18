using Diffuser.IO;
using Diffuser.Tests.Hub;
using Diffuser.Tests.Infrastructure;
using static Diffuser.Tests.Cli.GenerateRun;

namespace Diffuser.Tests.Cli;

/// <summary>
/// <c>diffuser generate --model org/name</c> against a fake hub on loopback: the files are downloaded into the
/// Hugging Face cache the environment names, with a progress line per file, and later runs use the cache offline.
/// </summary>
public sealed class GenerateFromHubTests(FakeHubRepository repository) : IClassFixture<FakeHubRepository>, IDisposable
{
    private readonly TempDirectory _dir = new();

    private string[] Args(string model, string output, params string[] more) =>
        ["generate", "--model", model, "--prompt", "a photo of an astronaut", "--steps", "2", "--seed", "3", "--device", "cpu", "--output", output, .. more];

    [Fact]
    public void DownloadsWithProgressThenRunsOffline()
    {
        var environment = new Dictionary<string, string> { ["HF_HUB_CACHE"] = _dir.File("hf-cache"), ["HOME"] = _dir.Path };
        string first = _dir.File("first.png"), second = _dir.File("second.png");
        using (var server = repository.Serve())
        {
            environment["HF_ENDPOINT"] = server.Endpoint.ToString();
            var result = CliRunner.RunWithEnvironment(environment, Args(FakeHubRepository.RepoId, first, "--variant", "fp16"));
            Assert.True(result.ExitCode == 0, result.Error);

            var expected = repository.PipelineFiles.Where(f => f != DiffusersFolder.ModelIndexFile)
                .Select(f => f == FakeHubRepository.UnetWeights ? FakeHubRepository.UnetFp16Weights : f).ToList();
            var done = result.Output.Split('\n').Where(l => l.StartsWith("download ", StringComparison.Ordinal) && l.EndsWith(": done", StringComparison.Ordinal)).ToList();
            Assert.Equal(expected.Count, done.Count);
            foreach (string file in expected) Assert.Single(done, l => l.Contains($" {FakeHubRepository.RepoId}/{file} ("));
        }

        // the server is gone: the cache serves the model, and an uncached one is a clear error
        var offline = CliRunner.RunWithEnvironment(environment, Args(FakeHubRepository.RepoId, second, "--variant", "fp16", "--offline"));
        Assert.True(offline.ExitCode == 0, offline.Error);
        Assert.DoesNotContain("download ", offline.Output);
        Assert.Equal(FakeHubRepository.RepoId, Parameters(second).Model);
        Assert.Equal(Pixels(first).Pixels, Pixels(second).Pixels);

        AssertOneLineError(CliRunner.RunWithEnvironment(environment, Args("test-org/not-cached", _dir.File("third.png"), "--offline")),
            "Cannot load test-org/not-cached", "HF_HUB_OFFLINE");
        Assert.False(File.Exists(_dir.File("third.png")));
    }

    public void Dispose() => _dir.Dispose();
}
