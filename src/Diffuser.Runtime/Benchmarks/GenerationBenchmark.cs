using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Models.Vae;
using Diffuser.Schedulers;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>What <see cref="GenerationBenchmark.Run"/> measures.</summary>
public sealed record GenerationBenchmarkOptions
{
    /// <summary>A diffusers pipeline folder (configs with weights-manifest.json files, or real weights).</summary>
    public required string ModelFolder { get; init; }
    public string Device { get; init; } = "auto";
    /// <summary>Storage of weights and activations (fp16: fp32 accumulation; latents and sampler steps stay fp32).</summary>
    public DType DType { get; init; } = DType.F32;

    /// <summary>The VAE's dtype (see <see cref="Pipelines.PipelineOptions.VaeDType"/>); null follows <see cref="DType"/>.</summary>
    public DType? VaeDType { get; init; }
    /// <summary>UNet batch. An even batch is classifier-free guidance: batch / 2 images, [uncond, cond] halves.</summary>
    public int Batch { get; init; } = 2;
    /// <summary>Image side in pixels; null: the model's own (UNet sample_size × VAE factor).</summary>
    public int? ImageSize { get; init; }
    public int Steps { get; init; } = 10;
    /// <summary>Untimed generations before the timed one (kernel compilation, pool warm-up).</summary>
    public int Warmup { get; init; } = 1;
    public float GuidanceScale { get; init; } = 7.5f;
    /// <summary>Whether to run one more, profiled generation of one step for the per-kernel breakdown.</summary>
    public bool ProfileKernels { get; init; } = true;
}

/// <summary>
/// Times a whole text-to-image generation on synthetic weights: text encoder, each UNet step, each fused sampler
/// step and the VAE decode, each timed on its own (the device synchronised at the boundaries, no profiler attached);
/// then one profiled generation of one step breaks each component into kernels, and a shapes-only pass counts the
/// UNet's FLOPs at the model's own resolution.
/// </summary>
public static class GenerationBenchmark
{
    /// <summary>Component names, as reports and JSON spell them.</summary>
    public const string TextEncoder = "text_encoder", UNetStep = "unet_step", SamplerStep = "sampler_step",
        LatentPrep = "latent_prep", VaeDecode = "vae_decode";

    public static GenerationBenchmarkReport Run(GenerationBenchmarkOptions options, Action<string>? progress = null)
    {
        Validate(options);
        using var backend = BackendFactory.Create(options.Device);
        progress?.Invoke($"synthesising weights on {backend.Name} ({backend.Device.Name})");
        using var pipe = SyntheticPipeline.Load(options.ModelFolder, backend, options.DType, vaeDType: options.VaeDType);
        int size = options.ImageSize ?? pipe.DefaultImageSize;
        if (size % pipe.LatentScale != 0 || size < pipe.LatentScale)
            throw new DiffuserException($"--size {size} must be a positive multiple of the VAE factor {pipe.LatentScale}.");
        var run = new GenerationRun(pipe, options.Batch, size / pipe.LatentScale, options.GuidanceScale);

        var warmupSeconds = new List<double>();
        for (int i = 0; i < options.Warmup; i++)
        {
            progress?.Invoke($"warm-up generation {i + 1} of {options.Warmup}");
            var warmup = Stopwatch.StartNew();
            run.Generate(Math.Min(options.Steps, 2), timings: null);
            warmupSeconds.Add(warmup.Elapsed.TotalSeconds);
        }
        progress?.Invoke($"timed generation of {options.Steps} steps");
        var timings = new ComponentTimings();
        var clock = Stopwatch.StartNew();
        run.Generate(options.Steps, timings);
        double generationSeconds = clock.Elapsed.TotalSeconds;

        var profiler = new OpProfiler();
        if (options.ProfileKernels)
        {
            progress?.Invoke("profiled generation of one step (per-kernel times)");
            backend.Profiler = profiler;
            try { run.Generate(1, timings: null); }
            finally { backend.Profiler = null; }
        }
        var sampleSize = pipe.UNet.Config.DefaultLatentSize ?? (64, 64);
        long flopsAtSampleSize = ComponentFlops.UNetPass(options.ModelFolder, pipe.UNet.Config, 1, sampleSize.Height, sampleSize.Width,
            pipe.TextEncoder.Config.MaxPositionEmbeddings);

        return GenerationBenchmarkReport.Create(options, pipe, size, run, warmupSeconds, timings, generationSeconds, profiler.Records,
            flopsAtSampleSize, sampleSize);
    }

    private static void Validate(GenerationBenchmarkOptions o)
    {
        if (o.Batch < 1) throw new DiffuserException($"--batch must be ≥ 1, got {o.Batch}.");
        if (o.Steps < 1) throw new DiffuserException($"--steps must be ≥ 1, got {o.Steps}.");
        if (o.Warmup < 0) throw new DiffuserException($"--warmup must be ≥ 0, got {o.Warmup}.");
        if (o.ImageSize is < 1) throw new DiffuserException($"--size must be positive, got {o.ImageSize}.");
    }
}

/// <summary>One generation's worth of work on a <see cref="SyntheticPipeline"/>, each component timed on its own.</summary>
internal sealed class GenerationRun(SyntheticPipeline pipe, int batch, int latentSize, float guidanceScale)
{
    private readonly Backend _backend = pipe.Backend;
    private readonly int[] _ids = pipe.PromptIds(batch);

    public int Batch => batch;
    public bool Guided => batch % 2 == 0;
    public int ImageBatch => Guided ? batch / 2 : batch;
    public int LatentSize => latentSize;

    /// <summary>Runs text encoder, <paramref name="steps"/> denoising steps and the VAE decode; records each
    /// component's wall and host times in <paramref name="timings"/> (when given) and labels profiler sections.</summary>
    public void Generate(int steps, ComponentTimings? timings)
    {
        var unet = pipe.UNet;
        using var text = Timed(timings, GenerationBenchmark.TextEncoder, () => pipe.TextEncoder.EncodePrompt(_ids, batch));
        using var context = unet.PrepareContext(text);   // as the pipeline: the text's k|v projections made in the first step, reused
        using var state = pipe.Scheduler.Begin(steps, new SamplerOptions { Noise = new PhiloxNoiseSource(1) });
        var latents = Timed(timings, GenerationBenchmark.LatentPrep, () =>
        {
            using var noise = _backend.NormalNoise(new TensorShape(ImageBatch, unet.InChannels, latentSize, latentSize), 1, 0);
            return _backend.Affine(noise, state.Schedule.InitNoiseSigma);
        });
        try
        {
            while (!state.IsComplete)
            {
                using var input = Timed(timings, GenerationBenchmark.LatentPrep, () => PrepareInput(state, latents));
                using var output = Timed(timings, GenerationBenchmark.UNetStep, () => unet.Forward(input, state.Timestep, context));
                var next = Timed(timings, GenerationBenchmark.SamplerStep,
                    () => pipe.Scheduler.Step(_backend, state, output, latents, Guided ? guidanceScale : 1f));
                latents.Dispose();
                latents = next;
            }
            using var image = Timed(timings, GenerationBenchmark.VaeDecode, () => pipe.Vae.DecodeUNetLatents(latents));
        }
        finally
        {
            latents.Dispose();
        }
    }

    /// <summary>The scheduler-scaled latents, doubled along the batch for classifier-free guidance.</summary>
    private Tensor PrepareInput(SamplerState state, Tensor latents)
    {
        var scaled = pipe.Scheduler.ScaleModelInput(_backend, state, latents);
        if (!Guided) return scaled;
        using (scaled) return _backend.Concat(scaled, scaled, axis: 0);
    }

    private T Timed<T>(ComponentTimings? timings, string component, Func<T> work)
    {
        if (_backend.Profiler is { } profiler) profiler.Section = component;
        return (timings ?? new ComponentTimings()).Time(component, _backend.Synchronize, work);   // untimed runs synchronise alike
    }
}
