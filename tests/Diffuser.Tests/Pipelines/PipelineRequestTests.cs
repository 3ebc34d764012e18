using Diffuser.IO;
using Diffuser.Pipelines;
using Diffuser.Tests.Infrastructure;
using Diffuser.Imaging;

namespace Diffuser.Tests.Pipelines;

/// <summary>Bad requests fail with their own message before any work; tiny-sd (VAE factor 2, 16×16 default).</summary>
public sealed class PipelineRequestTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private static readonly RgbImage Cat = TestImages.Load(TestPaths.Image("chelsea_16.png"));
    private static readonly GenerationRequest Valid = new() { Prompt = "a cat", Steps = 2, Scheduler = "ddim", Seed = 1 };

    private static readonly Dictionary<string, (GenerationRequest Request, string Message)> Cases = new()
    {
        ["width not a multiple of the VAE factor"] = (Valid with { Width = 17 }, "Width 17 is not a multiple of the VAE scale factor 2"),
        ["height zero"] = (Valid with { Height = 0 }, "Height 0 is out of range"),
        ["width too large"] = (Valid with { Width = 40000 }, "Width 40000 is out of range"),
        ["no steps"] = (Valid with { Steps = 0 }, "Steps must be ≥ 1, got 0"),
        ["negative guidance"] = (Valid with { GuidanceScale = -1f }, "Guidance scale must be a finite number ≥ 0, got -1"),
        ["NaN guidance"] = (Valid with { GuidanceScale = float.NaN }, "Guidance scale must be a finite number ≥ 0"),
        ["negative eta"] = (Valid with { Eta = -0.5 }, "Eta must be a finite number ≥ 0"),
        ["no batch"] = (Valid with { BatchSize = 0 }, "Batch size must be ≥ 1"),
        ["no batches"] = (Valid with { BatchCount = 0 }, "Batch count must be ≥ 1"),
        ["unknown scheduler"] = (Valid with { Scheduler = "warp drive" }, "Unknown scheduler \"warp drive\""),
        ["strength zero"] = (Valid with { InitImage = Cat, Strength = 0 }, "Strength must be in (0, 1], got 0"),
        ["strength above one"] = (Valid with { InitImage = Cat, Strength = 1.5 }, "Strength must be in (0, 1], got 1.5"),
        ["strength without image"] = (Valid with { Strength = 0.5 }, "Strength 0.5 needs an init image"),
        ["strength runs no step"] = (Valid with { InitImage = Cat, Strength = 0.2 }, "runs no step"),
        ["mask size mismatch"] = (Valid with { InitImage = Cat, Mask = InpaintMask.Uniform(8, 16, 1f) }, "The mask is 8×16 but the init image is 16×16"),
        ["mask without image"] = (Valid with { Mask = InpaintMask.Uniform(16, 16, 1f) }, "mask needs the init image"),
        ["image size not a multiple"] = (Valid with { InitImage = new RgbImage(15, 16, new byte[15 * 16 * 3]) }, "Init image width 15 is not a multiple"),
        ["size differs from image"] = (Valid with { InitImage = Cat, Width = 32 }, "differs from the init image's 16×16"),
        ["seed count"] = (Valid with { BatchSize = 2, Seeds = [1, 2, 3] }, "3 seeds for 2 images"),
        ["init latents with image"] = (Valid with { InitImage = Cat, InitLatentsFile = "x.safetensors" }, "start from the init image"),
        ["replay over batches"] = (Valid with { BatchCount = 2, NoiseFile = "x.safetensors" }, "holds one batch"),
        ["missing replay file"] = (Valid with { InitLatentsFile = "/nonexistent/latents.safetensors" }, "/nonexistent/latents.safetensors"),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Theory, MemberData(nameof(CaseNames))]
    public void BadRequestsNameTheProblem(string name)
    {
        var (request, message) = Cases[name];
        var e = Assert.ThrowsAny<DiffuserException>(() => fixture.Get("tiny-sd").Generate(request));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadImagesAndMasksAreRejectedWhenMade()
    {
        Assert.Contains("10 bytes are not a 16×16 RGB image (768 bytes)", Assert.Throws<DiffuserException>(() => new RgbImage(16, 16, new byte[10])).Message);
        Assert.Contains("outside [0, 1]", Assert.Throws<DiffuserException>(() => new InpaintMask(2, 1, [0.5f, 1.5f])).Message);
    }

    [Fact]
    public void InitLatentsMustHaveTheRequestsShape()
    {
        using var temp = new TempDirectory();
        new SafetensorsWriter().Add("latents", new float[4 * 4 * 4], 1, 4, 4, 4).Save(temp.File("small.safetensors"));
        var e = Assert.Throws<DiffuserException>(() => fixture.Get("tiny-sd").Generate(Valid with { InitLatentsFile = temp.File("small.safetensors") }));
        Assert.Contains("initial latents 'latents' are [1, 4, 4, 4]; this request needs [1, 4, 8, 8]", e.Message);
    }
}
