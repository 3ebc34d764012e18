using Diffuser.Hub;

namespace Diffuser.Tests.Hub;

/// <summary>The environment variables huggingface_hub reads, given as a lookup (the process environment is never changed).</summary>
public sealed class HubSettingsTests
{
    private static HubSettings From(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return HubSettings.FromEnvironment(name => map.GetValueOrDefault(name));
    }

    [Fact]
    public void HfHubCacheWinsOverHfHome()
    {
        var settings = From(("HOME", "/home/u"), ("HF_HOME", "/data/hf"), ("HF_HUB_CACHE", "/fast/hub-cache"));
        Assert.Equal("/fast/hub-cache", settings.CacheDirectory);
    }

    [Fact]
    public void HfHomeGivesItsHubFolder()
    {
        Assert.Equal("/data/hf/hub", From(("HOME", "/home/u"), ("HF_HOME", "/data/hf")).CacheDirectory);
    }

    [Fact]
    public void LegacyHuggingFaceHubCacheComesAfterHfHubCache()
    {
        Assert.Equal("/legacy", From(("HF_HOME", "/data/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy")).CacheDirectory);
        Assert.Equal("/new", From(("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/new")).CacheDirectory);
    }

    [Fact]
    public void DefaultIsTheUsersCacheFolder()
    {
        Assert.Equal("/home/u/.cache/huggingface/hub", From(("HOME", "/home/u")).CacheDirectory);
        Assert.Equal("/xdg/huggingface/hub", From(("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg")).CacheDirectory);
        Assert.Equal("/home/u/models/hub", From(("HOME", "/home/u"), ("HF_HOME", "~/models")).CacheDirectory);
    }

    [Fact]
    public void EmptyVariablesCountAsUnset()
    {
        Assert.Equal("/home/u/.cache/huggingface/hub", From(("HOME", "/home/u"), ("HF_HUB_CACHE", ""), ("HF_HOME", "")).CacheDirectory);
    }

    [Fact]
    public void EndpointTokenAndOffline()
    {
        var defaults = From(("HOME", "/home/u"));
        Assert.Equal(HubSettings.DefaultEndpoint, defaults.Endpoint);
        Assert.Null(defaults.Token);
        Assert.False(defaults.Offline);

        var set = From(("HOME", "/home/u"), ("HF_ENDPOINT", "https://mirror.example/"), ("HF_TOKEN", "hf_abc"), ("HF_HUB_OFFLINE", "1"));
        Assert.Equal(new Uri("https://mirror.example"), set.Endpoint);
        Assert.Equal("hf_abc", set.Token);
        Assert.True(set.Offline);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("no", false)]
    public void OfflineFollowsHuggingFaceHubsTruthyValues(string value, bool offline) =>
        Assert.Equal(offline, From(("HOME", "/h"), ("HF_HUB_OFFLINE", value)).Offline);

    [Fact]
    public void BadEndpointIsNamed()
    {
        var e = Assert.Throws<DiffuserException>(() => From(("HOME", "/h"), ("HF_ENDPOINT", "ftp://mirror")));
        Assert.Contains("ftp://mirror", e.Message);
        Assert.Contains("HF_ENDPOINT", e.Message);
    }

    [Theory]
    [InlineData("stable-diffusion-v1-5/stable-diffusion-v1-5", "stable-diffusion-v1-5/stable-diffusion-v1-5", "main")]
    [InlineData("org/name@fp16", "org/name", "fp16")]
    [InlineData("org/name@refs/pr/12", "org/name", "refs/pr/12")]
    [InlineData("gpt2", "gpt2", "main")]
    [InlineData("madebyollin/taesd@0123456789abcdef0123456789abcdef01234567", "madebyollin/taesd", "0123456789abcdef0123456789abcdef01234567")]
    public void HubIdsParse(string text, string repo, string revision)
    {
        Assert.True(HubModelId.TryParse(text, out var id));
        Assert.Equal(repo, id.RepoId);
        Assert.Equal(revision, id.Revision);
        Assert.Equal("models--" + repo.Replace("/", "--"), id.CacheFolderName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("org/")]
    [InlineData("/abs/path")]
    [InlineData("./relative")]
    [InlineData("a/b/c")]
    [InlineData("org--x/name")]
    [InlineData("org/na..me")]
    [InlineData("org/name@")]
    [InlineData("org/name@../../etc")]
    [InlineData("org/name@has space")]
    [InlineData("C:\\models\\sd")]
    public void NonIdsAreRejected(string text) => Assert.False(HubModelId.TryParse(text, out _));
}
