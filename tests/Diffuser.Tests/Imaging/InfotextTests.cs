using Diffuser.Imaging;

namespace Diffuser.Tests.Imaging;

/// <summary>A1111's infotext: the exact text create_infotext writes, and parse_generation_parameters' reading of it.</summary>
public sealed class InfotextTests
{
    private static readonly GenerationParameters Typical = new()
    {
        Prompt = "a cat in a hat",
        NegativePrompt = "blurry",
        Steps = 25,
        Sampler = "Euler a",
        CfgScale = 7.5,
        Seed = 42,
        Width = 512,
        Height = 512,
        Model = "stable-diffusion-v1-5",
    };

    [Fact]
    public void FormatsLikeA1111()
    {
        Assert.Equal("a cat in a hat\nNegative prompt: blurry\nSteps: 25, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: stable-diffusion-v1-5",
            Typical.ToInfotext());
    }

    [Fact]
    public void EmptyNegativePromptHasNoLineAndWholeNumbersHaveNoDecimals()
    {
        var p = Typical with { NegativePrompt = "", CfgScale = 7, Width = 768, Height = 512, ClipSkip = 1, DenoisingStrength = 0.75 };
        Assert.Equal("a cat in a hat\nSteps: 25, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 768x512, Model: stable-diffusion-v1-5, Denoising strength: 0.75",
            p.ToInfotext());
    }

    [Fact]
    public void SettingsFollowA1111sOrderWithExtrasLast()
    {
        var p = new GenerationParameters
        {
            Prompt = "p", Seed = 1, Steps = 2, ClipSkip = 2, Vae = "taesd", ModelHash = "6ce0161689", ScheduleType = "Karras", Sampler = "DPM++ 2M",
            CfgScale = 5, Width = 8, Height = 16, Model = "m", DenoisingStrength = 0.5, Extra = [new("Version", "diffuser 1.0")],
        };
        Assert.Equal("p\nSteps: 2, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 1, Size: 8x16, Model hash: 6ce0161689, " +
            "Model: m, VAE: taesd, Denoising strength: 0.5, Clip skip: 2, Version: diffuser 1.0", p.ToInfotext());
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a, b", "\"a, b\"")]
    [InlineData("key: value", "\"key: value\"")]
    [InlineData("two\nlines", "\"two\\nlines\"")]
    [InlineData("q\"uote, back\\slash", "\"q\\\"uote, back\\\\slash\"")]
    [InlineData("tab\t, bell\u0007, é猫", "\"tab\\t, bell\\u0007, é猫\"")]
    public void ValuesAreQuotedAsPythonJsonDumpsDoes(string value, string quoted)
    {
        Assert.Equal(quoted, Infotext.Quote(value));
        Assert.Equal(value, Infotext.Unquote(quoted));
    }

    [Fact]
    public void ParsesA1111sOwnExample()
    {
        const string text = """
            girl with an artist's beret, determined, blue eyes, desert scene, ((eyeshadow)), (coquettish), detailed, intricate
            Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy
            Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b
            """;
        var p = Infotext.Parse(text);
        Assert.Equal("girl with an artist's beret, determined, blue eyes, desert scene, ((eyeshadow)), (coquettish), detailed, intricate", p.Prompt);
        Assert.Equal("ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy", p.NegativePrompt);
        Assert.Equal((20, "Euler a", 7.0, 965400086L, 512, 512, "45dee52b"), (p.Steps!.Value, p.Sampler, p.CfgScale!.Value, p.Seed!.Value, p.Width!.Value, p.Height!.Value, p.ModelHash));
        Assert.Empty(p.Extra);
        Assert.Equal(text, p.ToInfotext());
    }

    [Fact]
    public void RoundTripKeepsMultilinePromptsQuotedValuesAndExtras()
    {
        var p = Typical with
        {
            Prompt = "line one, with: colon\nline two 🐱",
            NegativePrompt = "bad\nworse",
            Model = "org/name, v2",
            Extra = [new("Lora hashes", "\"a: 1, b: 2\""), new("Version", "diffuser 1.0")],
        };
        string text = p.ToInfotext();
        var back = Infotext.Parse(text);
        Assert.Equal(p.Prompt, back.Prompt);
        Assert.Equal(p.NegativePrompt, back.NegativePrompt);
        Assert.Equal(p.Model, back.Model);
        Assert.Equal(p.Extra, back.Extra);
        Assert.Equal(text, back.ToInfotext());
    }

    [Fact]
    public void TextWithoutASettingsLineIsAllPrompt()
    {
        var p = Infotext.Parse("just a prompt, with: one colon\nNegative prompt: nothing");
        Assert.Equal("just a prompt, with: one colon", p.Prompt);
        Assert.Equal("nothing", p.NegativePrompt);
        Assert.Null(p.Steps);
    }

    [Fact]
    public void UnparseableKnownValuesAreKeptAsExtras()
    {
        var p = Infotext.Parse("p\nSteps: many, Seed: 7, Size: big, CFG scale: 3.5");
        Assert.Null(p.Steps);
        Assert.Null(p.Width);
        Assert.Equal(7, p.Seed);
        Assert.Equal(3.5, p.CfgScale);
        Assert.Equal([new("Steps", "many"), new("Size", "big")], p.Extra);
    }
}
