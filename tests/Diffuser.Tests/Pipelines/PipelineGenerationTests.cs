using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Pipelines;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Pipelines;

/// <summary>Seeds, batches, progress, replay files and component options of <see cref="StableDiffusionPipeline"/> (tiny-sd).</summary>
public sealed class PipelineGenerationTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private StableDiffusionPipeline Pipeline => fixture.Get("tiny-sd");
    private Backend Backend => fixture.Backend;
    private static readonly GenerationRequest Base = new() { Prompt = "a red horse", Steps = 3, Scheduler = "euler_a", Seed = 10, ReturnLatents = true };

    [Fact]
    public void SeedsCountUpAndAnImageDependsOnItsSeedAlone()
    {
        var batch = Pipeline.Generate(Base with { BatchSize = 3 });
        Assert.Equal([10UL, 11UL, 12UL], batch.Images.Select(i => i.Seed));
        Assert.Equal([0, 1, 2], batch.Images.Select(i => i.Index));
        Assert.Equal([3, 4, 8, 8], batch.FinalLatents!.Shape);

        var single = Pipeline.Generate(Base with { Seed = 11 });
        Tolerance.AssertClose(single.FinalLatents!.Values, batch.FinalLatents.Values.AsSpan(256, 256), 1e-5, 1e-5, "seed 11 alone vs in a batch");
        Assert.Equal(single.Images[0].Image.Pixels, batch.Images[1].Image.Pixels);
        Assert.NotEqual(batch.Images[0].Image.Pixels, batch.Images[1].Image.Pixels);
    }

    [Fact]
    public void BatchesRunInTurnReportingEachStep()
    {
        var progress = new SynchronousProgress();
        var result = Pipeline.Generate(Base with { BatchCount = 2, Seeds = [7, 3] }, progress);
        Assert.Equal([7UL, 3UL], result.Images.Select(i => i.Seed));
        Assert.Equal(6, result.Timings.Steps.Count);
        Assert.True(result.Timings.Total >= result.Timings.Denoise + result.Timings.VaeDecode);
        Assert.Equal([1, 2, 3, 1, 2, 3], progress.Reports.Select(p => p.Step));
        Assert.All(progress.Reports, p => Assert.Equal((3, 2), (p.TotalSteps, p.BatchCount)));
        Assert.Equal([0, 0, 0, 1, 1, 1], progress.Reports.Select(p => p.Batch));
        Assert.Equal([0, 0, 0, 1, 1, 1], progress.Reports.Select(p => p.FirstImage));
        Assert.All(progress.Reports, p => Assert.True(p.IterationsPerSecond > 0));

        var seven = Pipeline.Generate(Base with { Seed = 7 });
        Assert.Equal(seven.Images[0].Image.Pixels, result.Images[0].Image.Pixels);
    }

    [Fact]
    public void RecordedNoiseReplaysTheSeedsDraws()
    {
        // Text-to-image draws the starting noise (draw 0), then Euler ancestral one draw per step (1, 2, 3).
        using var temp = new TempDirectory();
        var noise = new SafetensorsWriter();
        for (int draw = 0; draw <= 3; draw++)
            using (var t = Backend.NormalNoise(new TensorShape(1, 4, 8, 8), 10, (ulong)draw))
                noise.Add($"noise.{draw:00}", t.ToArray(), 1, 4, 8, 8);
        noise.Save(temp.File("noise.safetensors"));
        using (var start = Backend.NormalNoise(new TensorShape(1, 4, 8, 8), 10, 0))
            new SafetensorsWriter().Add("x_T", start.ToArray(), 1, 4, 8, 8).Save(temp.File("start.safetensors"));

        var seeded = Pipeline.Generate(Base with { SaveLatentsFile = temp.File("final.safetensors") });
        var replayed = Pipeline.Generate(Base with { Seed = 999, NoiseFile = temp.File("noise.safetensors") });
        Assert.Equal(seeded.FinalLatents!.Values, replayed.FinalLatents!.Values);

        // Replayed starting latents (the file's only tensor) shift the step draws to 0, 1, 2.
        var fromLatents = Pipeline.Generate(Base with { Scheduler = "ddim", InitLatentsFile = temp.File("start.safetensors"), Seed = 5 });
        var fromSeed = Pipeline.Generate(Base with { Scheduler = "ddim" });
        Assert.Equal(fromSeed.Images[0].Image.Pixels, fromLatents.Images[0].Image.Pixels);

        using var saved = SafetensorsFile.Open(temp.File("final.safetensors"));
        Assert.Equal([1, 4, 8, 8], saved.GetInfo(LatentFiles.FinalLatentsTensor).Shape);
        Assert.Equal(seeded.FinalLatents.Values, saved.ReadSingles(LatentFiles.FinalLatentsTensor));
    }

    [Fact]
    public void PromptEmbeddingsAreReusedWhileThePromptsRepeat()
    {
        var seen = new List<Tensor>();
        var observer = new PromptWatcher(seen);
        Pipeline.Generate(Base with { Prompt = "a blue fish" }, observer: observer);
        Pipeline.Generate(Base with { Prompt = "a blue fish", Seed = 3 }, observer: observer);
        Pipeline.Generate(Base with { Prompt = "a green fish" }, observer: observer);
        Assert.Same(seen[0], seen[1]);
        Assert.NotSame(seen[1], seen[2]);
        Assert.Equal([2, 77, 32], seen[2].Shape.Dims.ToArray());
    }

    [Fact]
    public void ATinyAutoencoderEncodesWithoutAPosteriorDraw()
    {
        // img2img with TAESD: no posterior sample, so the add_noise draw is number 0 (with the KL VAE it is 1, see the
        // img2img goldens); the file has no other draw.
        using var temp = new TempDirectory();
        using (var t = Backend.NormalNoise(new TensorShape(1, 4, 2, 2), 1, 0))
            new SafetensorsWriter().Add("noise.00", t.ToArray(), 1, 4, 2, 2).Save(temp.File("noise.safetensors"));
        using var pipeline = StableDiffusionPipeline.Load(TestPaths.Model("tiny-sd"), Backend,
            new PipelineOptions { TinyAutoencoderFolder = TestPaths.Model("taesd-arch-random") });
        var request = new GenerationRequest
        {
            Prompt = "a cat",
            Steps = 4,
            Scheduler = "ddim",
            InitImage = TestImages.Load(TestPaths.Image("chelsea_16.png")),
            NoiseFile = temp.File("noise.safetensors"),
        };
        Assert.Equal(8, pipeline.VaeScaleFactor);
        var image = Assert.Single(pipeline.Generate(request).Images).Image;
        Assert.Equal((16, 16), (image.Width, image.Height));
    }

    private sealed class PromptWatcher(List<Tensor> seen) : IGenerationObserver
    {
        public void PromptEncoded(Tensor encoderHiddenStates) => seen.Add(encoderHiddenStates);
    }
}
