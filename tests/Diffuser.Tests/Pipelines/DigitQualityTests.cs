using System.Diagnostics;
using Diffuser.Pipelines;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Pipelines;

/// <summary>
/// Real image quality with the trained tiny-digits model (the repository's copy): "a handwritten digit d" with the
/// engine's own Philox noise must draw digit d. The model README reports 98.5% nearest-centroid accuracy for
/// diffusers (DDIM 25 steps, guidance 5, torch's noise); a broken text path scores ~10%, no guidance ~75%.
/// </summary>
public sealed class DigitQualityTests(ITestOutputHelper output)
{
    private const int ImagesPerDigit = 5;

    public static string ModelFolder => Path.Combine(TestPaths.RepoRoot, "models", "tiny-digits");

    /// <summary>In fp32, and in fp16 (weights and activations; latents and sampler steps stay fp32).</summary>
    [Theory, InlineData("fp32"), InlineData("fp16")]
    public void GeneratedDigitsAreTheOnesAskedFor(string dtype)
    {
        var clock = Stopwatch.StartNew();
        using var backend = TestBackend.Create();
        using var pipeline = StableDiffusionPipeline.Load(ModelFolder, backend, new PipelineOptions { DType = DTypeExtensions.Parse(dtype) });
        var classifier = DigitCentroids.Load(Path.Combine(ModelFolder, "eval", "digit_centroids_8x8.json"));
        var confusion = new int[10, 10];
        for (int digit = 0; digit < 10; digit++)
        {
            var recorder = new Classifier(classifier);
            var result = pipeline.Generate(new GenerationRequest
            {
                Prompt = $"a handwritten digit {digit}",
                NegativePrompt = "",
                Steps = 25,
                GuidanceScale = 5f,
                Scheduler = "ddim",
                BatchSize = ImagesPerDigit,
                Seed = (ulong)(1000 + ImagesPerDigit * digit),
            }, observer: recorder);
            output.WriteLine($"{digit}: text {result.Timings.TextEncode.TotalMilliseconds:F0} ms, steps {result.Timings.Denoise.TotalMilliseconds:F0} ms, decode {result.Timings.VaeDecode.TotalMilliseconds:F0} ms, total {result.Timings.Total.TotalMilliseconds:F0} ms");
            Assert.Equal(ImagesPerDigit, result.Images.Count);
            Assert.All(result.Images, i => Assert.Equal((32, 32), (i.Image.Width, i.Image.Height)));
            foreach (int predicted in recorder.Predictions) confusion[digit, predicted]++;
        }

        int correct = Enumerable.Range(0, 10).Sum(d => confusion[d, d]);
        double accuracy = correct / (10.0 * ImagesPerDigit);
        output.WriteLine($"tiny-digits {dtype}, DDIM 25 steps, guidance 5, {10 * ImagesPerDigit} images: nearest-centroid accuracy {accuracy:P1} in {clock.Elapsed.TotalSeconds:F1} s");
        for (int d = 0; d < 10; d++)
            output.WriteLine($"  {d}: " + string.Join(" ", Enumerable.Range(0, 10).Select(p => confusion[d, p])));
        Assert.True(accuracy >= 0.90, $"nearest-centroid accuracy {accuracy:P1} is below 90% (diffusers: 98.5%)");
    }

    private sealed class Classifier(DigitCentroids centroids) : IGenerationObserver
    {
        public List<int> Predictions { get; } = [];

        public void ImagesDecoded(int batch, Tensor images) => Predictions.AddRange(centroids.Classify(images));
    }
}
