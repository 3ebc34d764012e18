using System.Globalization;
using Diffuser.Imaging;
using Diffuser.IO;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Models;
using static Diffuser.Tests.Cli.GenerateRun;

namespace Diffuser.Tests.Cli;

/// <summary>
/// <c>diffuser generate</c> replaying golden diffusers runs (their latents and noise files passed as they are) must
/// write the golden's image; image-to-image and inpainting through <c>--init-image</c> and <c>--mask</c>.
/// </summary>
public sealed class GenerateReplayTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <summary>The options that repeat a golden run's settings: prompts, size, steps, guidance and scheduler class.</summary>
    private static string[] GoldenSettings(SafetensorsFile golden)
    {
        var meta = golden.Description();
        string Number(string key) => ((double)meta[key]!).ToString(CultureInfo.InvariantCulture);
        Assert.Empty(meta["scheduler_overrides"]!.AsObject());
        return ["--prompt", (string)meta["prompt"]!, "--negative-prompt", (string)meta["negative_prompt"]!, "-W", Number("width"),
            "-H", Number("height"), "--steps", Number("num_inference_steps"), "--guidance", Number("guidance_scale"),
            "--sampler", (string)meta["scheduler"]!];
    }

    [Fact]
    public void TextToImageReplaysTheGoldenAndSavesItsLatents()
    {
        var golden = Golden.Open("tiny-sd", "pipeline_txt2img_euler_ancestral.safetensors");
        string png = _dir.File("replay.png"), latents = _dir.File(Path.Combine("latents", "final.safetensors"));

        Succeeds(["generate", "--model", TinySd, .. GoldenSettings(golden), "--init-latents", golden.Path, "--noise", golden.Path,
            "--save-latents", latents, "--device", "cpu", "--output", png]);

        ModelFixture.CheckBytes(Pixels(png).Pixels, golden, "image_uint8");
        using (var saved = SafetensorsFile.Open(latents))
        {
            Assert.Equal(golden.ShapeOf("final_latents"), saved.GetInfo("final_latents").Shape);
            Tolerance.AssertClose(saved.ReadSingles("final_latents"), golden.Floats("final_latents"), 1e-3, 1e-3, "--save-latents final_latents");
        }
        var p = Parameters(png);
        Assert.Equal("Euler a", p.Sampler);
        string file = Path.GetFileName(golden.Path);
        Assert.Equal([new("Init latents", file), new("Noise", file)], p.Extra.Where(e => e.Key != "Version"));
    }

    [Fact]
    public void ImageToImageReplaysTheGolden()
    {
        var golden = Golden.Open("tiny-sd", "pipeline_img2img_ddim.safetensors");
        var img2img = golden.Description()["img2img"]!;
        string png = _dir.File("img2img.png");
        string strength = ((double)img2img["strength"]!).ToString(CultureInfo.InvariantCulture);

        Succeeds(["generate", "--model", TinySd, .. GoldenSettings(golden), "--init-image", TestPaths.Image((string)img2img["image"]!),
            "--strength", strength, "--noise", golden.Path, "--device", "cpu", "--output", png]);

        ModelFixture.CheckBytes(Pixels(png).Pixels, golden, "image_uint8");
        var p = Parameters(png);
        Assert.Equal(double.Parse(strength, CultureInfo.InvariantCulture), p.DenoisingStrength);
        Assert.Equal("DDIM", p.Sampler);
    }

    /// <summary>
    /// A 4-channel model blends the init image's latents back where the mask keeps: with an all-black mask the image
    /// is the init image's VAE round trip whatever the prompt; a half-white mask repaints, so the prompt matters.
    /// </summary>
    [Fact]
    public void InpaintingRepaintsOnlyWhereTheMaskSays()
    {
        string image = TestPaths.Image("chelsea_16.png");
        string keepAll = Mask("keep-all.png", _ => false), repaintLeft = Mask("repaint-left.png", x => x < 8);
        byte[] Run(string mask, string prompt)
        {
            string png = _dir.File($"inpaint-{Path.GetFileNameWithoutExtension(mask)}-{prompt.Replace(' ', '-')}.png");
            Succeeds(["generate", "--model", TinySd, "--prompt", prompt, "--steps", "4", "--init-image", image, "--mask", mask,
                "--seed", "3", "--device", "cpu", "--output", png]);
            var p = Parameters(png);
            Assert.Equal(0.75, p.DenoisingStrength);   // A1111's default
            return Pixels(png).Pixels;
        }

        Assert.Equal(Run(keepAll, "a red wall"), Run(keepAll, "a green field"));
        Assert.NotEqual(Run(repaintLeft, "a red wall"), Run(repaintLeft, "a green field"));
    }

    /// <summary>A 16×16 greyscale mask PNG, white (repaint) where <paramref name="repaint"/> holds for the column.</summary>
    private string Mask(string name, Func<int, bool> repaint)
    {
        var pixels = new byte[16 * 16 * 3];
        for (int i = 0; i < 256; i++)
            if (repaint(i % 16)) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = 255;
        return PngImageFile.Save(new RgbImage(16, 16, pixels), _dir.File(name));
    }

    public void Dispose() => _dir.Dispose();
}
