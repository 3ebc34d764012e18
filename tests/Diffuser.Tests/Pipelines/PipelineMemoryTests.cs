using Diffuser.Pipelines;
using Diffuser.Tests.Infrastructure;
using Diffuser.Imaging;

namespace Diffuser.Tests.Pipelines;

/// <summary>Repeated generations reuse pooled buffers; a cancelled one releases everything it held.</summary>
public sealed class PipelineMemoryTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private StableDiffusionPipeline Pipeline => fixture.Get("tiny-sd");
    private static readonly RgbImage Cat = TestImages.Load(TestPaths.Image("chelsea_16.png"));

    /// <summary>Text-to-image with a stochastic sampler, image-to-image and inpainting, in turn.</summary>
    private static GenerationRequest Request(int i) => (i % 3) switch
    {
        0 => new GenerationRequest { Prompt = $"an astronaut {i}", Steps = 4, Scheduler = "euler_a", BatchSize = 2, Seed = (ulong)i },
        1 => new GenerationRequest { Prompt = $"a cat {i}", Steps = 4, Scheduler = "ddim", InitImage = Cat, Strength = 0.75, Seed = (ulong)i },
        _ => new GenerationRequest { Prompt = $"a dog {i}", Steps = 4, Scheduler = "dpm++_2m", InitImage = Cat, Mask = InpaintMask.Uniform(16, 16, 0.7f), Seed = (ulong)i },
    };

    [Fact]
    public void TwentyGenerationsAllocateNothingAfterTheFirstOfEachKind()
    {
        // What stays in use between generations is the weights and the cached prompt embeddings (one row per image).
        var inUse = new long[3];
        for (int i = 0; i < 3; i++)
        {
            Pipeline.Generate(Request(i));
            inUse[i] = fixture.InUse;
        }
        var pool = fixture.Backend.Pool;
        long allocations = pool.Allocations, bytes = pool.BytesAllocated;
        for (int i = 3; i < 23; i++)
        {
            Pipeline.Generate(Request(i));
            Assert.Equal(inUse[i % 3], fixture.InUse);
        }
        Assert.Equal(allocations, pool.Allocations);
        Assert.Equal(bytes, pool.BytesAllocated);
    }

    [Fact]
    public void CancellingMidLoopReleasesEveryTensor()
    {
        var request = Request(0) with { Steps = 8 };
        Pipeline.Generate(request);
        long inUse = fixture.InUse;
        using var cancellation = new CancellationTokenSource();
        var progress = new SynchronousProgress(p =>
        {
            if (p.Step == 3) cancellation.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Pipeline.Generate(request, progress, cancellationToken: cancellation.Token));
        Assert.Equal(3, progress.Reports.Count);
        Assert.Equal(inUse, fixture.InUse);

        // The pipeline is free again, and an already-cancelled token stops a generation before it starts.
        Assert.Equal(2, Pipeline.Generate(request).Images.Count);
        Assert.ThrowsAny<OperationCanceledException>(() => Pipeline.Generate(request, cancellationToken: cancellation.Token));
        Assert.Equal(inUse, fixture.InUse);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its handler on the reporting thread (Progress&lt;T&gt; posts it).</summary>
internal sealed class SynchronousProgress(Action<GenerationProgress>? handler = null) : IProgress<GenerationProgress>
{
    public List<GenerationProgress> Reports { get; } = [];

    public void Report(GenerationProgress value)
    {
        Reports.Add(value);
        handler?.Invoke(value);
    }
}
