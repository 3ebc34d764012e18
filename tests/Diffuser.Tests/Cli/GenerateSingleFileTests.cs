using Diffuser.Tests.Hub;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Models.SingleFile;
using static Diffuser.Tests.Cli.GenerateRun;

namespace Diffuser.Tests.Cli;

/// <summary>
/// <c>diffuser generate --model checkpoint.safetensors</c>: an SD 1.x single-file checkpoint (tiny-sd's weights) with
/// the configs of a diffusers folder given by <c>--config</c>, or by default of its base model on the hub, of which
/// only the configs, tokenizer and scheduler are downloaded.
/// </summary>
public sealed class GenerateSingleFileTests(FakeHubRepository repository) : IClassFixture<FakeHubRepository>, IDisposable
{
    private const string BaseModel = "stable-diffusion-v1-5/stable-diffusion-v1-5";
    private readonly TempDirectory _dir = new();

    private string Checkpoint() => File.Exists(_dir.File("tiny.safetensors")) ? _dir.File("tiny.safetensors") : TinySingleFile.Write(_dir.File("tiny.safetensors"));

    private string[] Args(string model, string output, params string[] more) =>
        ["generate", "--model", model, "--prompt", "a photo of an astronaut", "--steps", "2", "--seed", "3", "--device", "cpu", "--output", output, .. more];

    [Fact]
    public void ACheckpointWithLocalConfigsDrawsWhatItsFolderDraws()
    {
        string folder = _dir.File("folder.png"), single = _dir.File("single.png");
        Succeeds(Args(TinySd, folder));
        var result = Succeeds(Args(Checkpoint(), single, "--config", TinySd));
        Assert.Contains("Loading tiny on cpu", result.Output);
        Assert.Equal(Pixels(folder).Pixels, Pixels(single).Pixels);
        Assert.Equal("tiny", Parameters(single).Model);
    }

    [Fact]
    public void WithoutConfigTheBaseModelsConfigsAloneAreDownloaded()
    {
        var environment = new Dictionary<string, string> { ["HF_HUB_CACHE"] = _dir.File("hf-cache"), ["HOME"] = _dir.Path };
        using var server = new FakeHubServer(BaseModel, repository.Files, null);
        environment["HF_ENDPOINT"] = server.Endpoint.ToString();
        var result = CliRunner.RunWithEnvironment(environment, Args(Checkpoint(), _dir.File("hub.png")));
        Assert.True(result.ExitCode == 0, result.Error);
        var downloads = result.Output.Split('\n').Where(l => l.StartsWith("download ", StringComparison.Ordinal) && l.EndsWith(": done", StringComparison.Ordinal)).ToList();
        Assert.Contains(downloads, l => l.Contains($" {BaseModel}/unet/config.json (", StringComparison.Ordinal));
        Assert.Contains(downloads, l => l.Contains($" {BaseModel}/tokenizer/vocab.json (", StringComparison.Ordinal));
        Assert.DoesNotContain(downloads, l => l.Contains(".safetensors", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(_dir.File("hf-cache"), "*.safetensors", SearchOption.AllDirectories));
    }

    [Fact]
    public void OptionsThatOnlyFitTheOtherKindOfModelAreRefused()
    {
        AssertOneLineError(CliRunner.Run(Args(TinySd, _dir.File("a.png"), "--config", TinySd)), "--config is for single-file checkpoints");
        AssertOneLineError(CliRunner.Run(Args(Checkpoint(), _dir.File("b.png"), "--config", TinySd, "--variant", "fp16")), "--variant");
        string sdxl = TinySingleFile.Write(_dir.File("sdxl.safetensors"), add: w => w.Add("conditioner.embedders.1.model.ln_final.weight", new float[4], 4));
        AssertOneLineError(CliRunner.Run(Args(sdxl, _dir.File("c.png"))), "SDXL");
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, "*.png"));
    }

    public void Dispose() => _dir.Dispose();
}
