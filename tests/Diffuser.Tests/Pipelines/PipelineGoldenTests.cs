using System.Text.Json.Nodes;
using Diffuser.IO;
using Diffuser.Pipelines;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Models;
using Diffuser.Tests.Schedulers;
using Diffuser.Imaging;

namespace Diffuser.Tests.Pipelines;

/// <summary>
/// Every golden diffusers pipeline run replayed through <see cref="StableDiffusionPipeline.Generate"/> with the
/// golden's initial latents and recorded noise: prompt embeddings, each step's UNet input, output and latents, the
/// final latents and the decoded image must match within the golden README's pipeline tolerances.
/// </summary>
public sealed class PipelineGoldenTests(PipelineFixture fixture, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private const double StepTol = 1e-3, ImageTol = 2e-3, TextTol = 1e-4;

    [Theory, MemberData(nameof(PipelineStepReplayTests.Pipelines), MemberType = typeof(PipelineStepReplayTests))]
    public void ReplaysTheDiffusersRun(string model, string file)
    {
        var golden = Golden.Open(model, file);
        var meta = golden.Description();
        var recorder = new GoldenRecorder();
        var result = fixture.Get(model).Generate(RequestFor(golden, meta), observer: recorder);

        var maxDiff = new Dictionary<string, double>();   // per tensor; "steps" for the per-step ones
        void Check(ReadOnlySpan<float> actual, string tensor, int row, double atol, double rtol)
        {
            var expected = Row(golden, tensor, row);
            string key = row < 0 ? tensor : "steps";
            maxDiff[key] = Math.Max(maxDiff.GetValueOrDefault(key), Tolerance.MaxAbsDiff(actual, expected));
            Tolerance.AssertClose(actual, expected, atol, rtol, $"{model}/{file} {tensor}{(row < 0 ? "" : $"[{row}]")}");
        }

        Check(recorder.EncoderHiddenStates!, "unet_encoder_hidden_states", -1, TextTol, TextTol);
        Assert.Equal(golden.Floats("unet_timesteps"), recorder.Timesteps);
        for (int i = 0; i < recorder.Latents.Count; i++)
        {
            Check(recorder.ModelInputs[i], "unet_inputs", i, StepTol, StepTol);
            Check(recorder.ModelOutputs[i], "unet_outputs", i, StepTol, StepTol);
            Check(recorder.Latents[i], "latents_after_step", i, StepTol, StepTol);
        }
        Check(result.FinalLatents!.Values, "final_latents", -1, StepTol, StepTol);
        Check(recorder.ImagesNhwc.ToArray(), "image_np", -1, ImageTol, 0);
        ModelFixture.CheckBytes([.. result.Images.SelectMany(i => i.Image.Pixels)], golden, "image_uint8");
        output.WriteLine($"{model}/{file}: max |diff| " + string.Join(", ", maxDiff.Select(d => $"{d.Key} {d.Value:G3}")));
    }

    /// <summary>The golden's call as a request: its prompts, settings and scheduler, its latents and noise replayed.</summary>
    internal static GenerationRequest RequestFor(SafetensorsFile golden, JsonObject meta)
    {
        var img2img = meta["img2img"];
        return new GenerationRequest
        {
            Prompt = (string)meta["prompt"]!,
            NegativePrompt = (string?)meta["negative_prompt"] ?? "",
            Width = (int)meta["width"]!,
            Height = (int)meta["height"]!,
            Steps = (int)meta["num_inference_steps"]!,
            GuidanceScale = (float)meta["guidance_scale"]!,
            Scheduler = SchedulerName(meta),
            BatchSize = (int)meta["num_images_per_prompt"]!,
            InitImage = img2img is null ? null : InputImage(golden, (string)img2img["image"]!),
            Strength = (double?)img2img?["strength"],
            InitLatentsFile = golden.Contains(LatentFiles.InitLatentsTensor) ? golden.Path : null,
            NoiseFile = golden.Contains("noise.00") ? golden.Path : null,
            ReturnLatents = true,
        };
    }

    /// <summary>The registry name of the golden's scheduler: its class, or the sampler name its overrides make.</summary>
    private static string SchedulerName(JsonObject meta)
    {
        var overrides = meta["scheduler_overrides"]!.AsObject();
        if (overrides.Count == 0) return (string)meta["scheduler"]!;
        Assert.Equal("dpmsolver++", (string)overrides["algorithm_type"]!);
        Assert.Equal(2, (int)overrides["solver_order"]!);
        return "dpm++_2m";
    }

    /// <summary>The PNG the golden run started from; it must be the pixels the golden recorded.</summary>
    private static RgbImage InputImage(SafetensorsFile golden, string name)
    {
        var image = TestImages.Load(TestPaths.Image(name));
        Assert.Equal(golden.ReadInt64("input_image_uint8_hwc"), image.Pixels.Select(b => (long)b));
        return image;
    }

    private static float[] Row(SafetensorsFile f, string name, int index)
    {
        var all = f.Floats(name);
        if (index < 0) return all;
        int size = all.Length / f.ShapeOf(name)[0];
        return all.AsSpan(index * size, size).ToArray();
    }
}
