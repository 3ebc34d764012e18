using System.Text.Json.Nodes;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Pipelines;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Text;
using Diffuser.Imaging;

namespace Diffuser.Tests.Pipelines;

/// <summary>
/// The 9-channel inpainting UNet path (diffusers' masked-image conditioning), with a synthetic inpainting UNet: tiny-sd's
/// UNet whose conv_in takes 5 more input channels (mask, masked-image latents), written to a temporary folder.
/// </summary>
public sealed class InpaintingUnetTests : IDisposable
{
    private const ulong Seed = 9;
    private readonly TempDirectory _temp = new();
    private readonly Backend _backend = TestBackend.Create();
    private readonly StableDiffusionPipeline _pipeline;
    private readonly RgbImage _cat = TestImages.Load(TestPaths.Image("chelsea_16.png"));

    public InpaintingUnetTests()
    {
        string model = TestPaths.Model("tiny-sd");
        var unetFolder = WriteInpaintingUnet(Path.Combine(model, "unet"), _temp.Path);
        _pipeline = new StableDiffusionPipeline(ClipTokenizer.FromModelFolder(model), ClipTextModel.FromModelFolder(model, _backend),
            UNet2DConditionModel.Load(unetFolder, _backend), AutoencoderKL.FromModelFolder(model, _backend),
            SchedulerConfig.Load(Path.Combine(model, StableDiffusionPipeline.SchedulerConfigPath)));
    }

    /// <summary>Repaints the top half (rows 0..7 of 16).</summary>
    private static InpaintMask TopHalf() => new(16, 16, Enumerable.Range(0, 256).Select(i => i < 128 ? 1f : 0f).ToArray());

    private GenerationRequest Request => new()
    {
        Prompt = "a cat",
        Steps = 4,
        Scheduler = "ddim",
        Seed = Seed,
        InitImage = _cat,
        Mask = TopHalf(),
    };

    [Fact]
    public void TheUnetReadsLatentsMaskAndMaskedImageLatents()
    {
        Assert.True(_pipeline.IsInpaintingModel);
        var recorder = new GoldenRecorder();
        _pipeline.Generate(Request, observer: recorder);
        var input = recorder.ModelInputs[0];                       // (2, 9, 8, 8): [uncond, cond] rows
        Assert.Equal(2 * 9 * 64, input.Length);

        // At strength 1 the 9-channel path needs no image latents: draw 0 is the starting noise, draw 1 the masked
        // image's posterior sample (diffusers' randn order).
        using var noise = _backend.NormalNoise(new TensorShape(1, 4, 8, 8), Seed, 0);
        using var maskedLatents = MaskedImageLatents(draw: 1);
        var latentMask = Enumerable.Range(0, 64).Select(i => i < 32 ? 1f : 0f).ToArray();     // rows 0..3 of 8
        foreach (int row in new[] { 0, 1 })
        {
            var channels = input.AsSpan(row * 9 * 64, 9 * 64);
            Tolerance.AssertClose(channels[..256], noise.ToArray(), 0, 0, $"row {row} latents");
            Tolerance.AssertClose(channels[256..320], latentMask, 0, 0, $"row {row} mask");
            Tolerance.AssertClose(channels[320..], maskedLatents.ToArray(), 0, 0, $"row {row} masked-image latents");
        }
    }

    [Fact]
    public void BelowFullStrengthTheImageIsEncodedFirst()
    {
        // Strength < 1 noises the image latents: draws are image posterior 0, starting noise 1, masked image 2
        // (DDIM with η = 0 draws nothing in its steps).
        var request = Request with { Strength = 0.5 };
        var e = Assert.Throws<DiffuserException>(() => _pipeline.Generate(request with { NoiseFile = NoiseFile(2) }));
        Assert.Contains("No recorded noise for draw 2", e.Message);
        Assert.Single(_pipeline.Generate(request with { NoiseFile = NoiseFile(3) }).Images);
    }

    private string NoiseFile(int draws)
    {
        var writer = new SafetensorsWriter();
        for (int i = 0; i < draws; i++) writer.Add($"noise.{i:00}", Enumerable.Range(0, 256).Select(v => MathF.Sin(v + 100 * i)).ToArray(), 1, 4, 8, 8);
        string path = _temp.File($"noise-{draws}.safetensors");
        writer.Save(path);
        return path;
    }

    [Fact]
    public void AnInpaintingUnetServesOnlyInpainting()
    {
        var e = Assert.Throws<DiffuserException>(() => _pipeline.Generate(Request with { Mask = null }));
        Assert.Contains("inpainting UNet", e.Message);
    }

    private Tensor MaskedImageLatents(long draw)
    {
        // The masked image is the [−1, 1] image times the keep mask, so repainted pixels are 0 (mid grey), not −1.
        using var pixels = VaeImageProcessor.Preprocess(_backend, _cat.Pixels, 16, 16);
        var values = pixels.ToArray();
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 128; p++) values[c * 256 + p] = 0f;
        using var masked = _backend.FromHost(values, pixels.Shape);
        var vae = (AutoencoderKL)_pipeline.Vae;
        using var posterior = vae.Encode(masked);
        using var noise = _backend.NormalNoise(posterior.Mean.Shape, Seed, (ulong)draw);
        using var raw = posterior.Sample(noise);
        return vae.ToUNetLatents(raw);
    }

    /// <summary>tiny-sd's UNet with in_channels 9: conv_in gets 5 more input channels of small fixed pseudo-random weights.</summary>
    private static string WriteInpaintingUnet(string source, string target)
    {
        string folder = Path.Combine(target, "unet");
        Directory.CreateDirectory(folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config["in_channels"] = 9;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());

        using var weights = SafetensorsFile.Open(Path.Combine(source, "diffusion_pytorch_model.safetensors"));
        var writer = new SafetensorsWriter();
        foreach (var tensor in weights.Tensors)
        {
            var values = weights.ReadSingles(tensor.Name);
            var shape = tensor.Shape;
            if (tensor.Name == "conv_in.weight")
            {
                int outChannels = shape[0], kernel = shape[2] * shape[3], oldIn = shape[1];
                var widened = new float[outChannels * 9 * kernel];
                for (int o = 0; o < outChannels; o++)
                    for (int i = 0; i < 9; i++)
                        for (int k = 0; k < kernel; k++)
                            widened[(o * 9 + i) * kernel + k] = i < oldIn ? values[(o * oldIn + i) * kernel + k] : 0.05f * MathF.Sin(o * 131 + i * 17 + k);
                (values, shape) = (widened, [outChannels, 9, shape[2], shape[3]]);
            }
            writer.Add(tensor.Name, values, shape);
        }
        writer.Save(Path.Combine(folder, "diffusion_pytorch_model.safetensors"));
        return folder;
    }

    public void Dispose()
    {
        _pipeline.Dispose();
        _backend.Dispose();
        _temp.Dispose();
    }
}
