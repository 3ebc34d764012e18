using System.Diagnostics;
using Diffuser.Models.Blocks;
using Diffuser.Models.Vae;
using Diffuser.Schedulers;
using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>The callbacks of one <see cref="StableDiffusionPipeline.Generate"/> call and the time its stages took.</summary>
internal sealed class GenerationRun(Stopwatch clock, IProgress<GenerationProgress>? progress, IGenerationObserver? observer,
    CancellationToken cancellation)
{
    public Stopwatch Clock { get; } = clock;
    public IProgress<GenerationProgress>? Progress { get; } = progress;
    public IGenerationObserver? Observer { get; } = observer;
    public CancellationToken Cancellation { get; } = cancellation;
    public TimeSpan PrepareLatents { get; set; }
    public TimeSpan VaeDecode { get; set; }
    public List<TimeSpan> Steps { get; } = [];
}

public sealed partial class StableDiffusionPipeline
{
    /// <summary>
    /// One batch: its noise (the batch's seeds, or the recorded draws), the starting latents, then the denoising loop.
    /// Returns the final UNet-space latents (B, C, h, w).
    /// </summary>
    private Tensor RunBatch(GenerationPlan plan, int batch, Tensor context, GenerationRun run)
    {
        var seeds = plan.Seeds.Skip(batch * plan.BatchSize).Take(plan.BatchSize).ToArray();
        INoiseSource noise = plan.RecordedNoise is { } recorded ? recorded : new BatchNoiseSource(seeds);
        bool needsImageLatents = plan.Mode == GenerationMode.ImageToImage || !IsInpaintingModel || plan.Strength < 1.0;
        var draws = NoiseDraws.For(plan.Mode, Vae is AutoencoderKL, plan.InitLatents is not null, needsImageLatents);
        var scheduler = plan.Scheduler;
        using var crossAttention = Unet.PrepareContext(context);   // every step attends to the same text: k|v projected once
        using var state = scheduler.Begin(plan.Request.Steps, new SamplerOptions
        {
            BeginIndex = plan.BeginIndex,
            Noise = noise,
            FirstNoiseDraw = draws.FirstStepDraw - plan.BeginIndex,   // step i draws FirstNoiseDraw + i, i from BeginIndex
            Eta = plan.Request.Eta,
        });

        long start = Stopwatch.GetTimestamp();
        using var image = plan.Mode == GenerationMode.TextToImage ? null
            : ImageConditioning.Create(Backend, Vae, plan, needsImageLatents, IsInpaintingModel, noise, draws);
        var latents = image?.StartLatents(scheduler, state) ?? TextToImageStart(plan, noise, draws, state);
        Backend.Synchronize();
        run.PrepareLatents += Stopwatch.GetElapsedTime(start);
        try
        {
            run.Observer?.LatentsPrepared(batch, latents);
            int total = state.RemainingCalls;
            long loopStart = Stopwatch.GetTimestamp();
            for (int call = 0; !state.IsComplete; call++)
            {
                run.Cancellation.ThrowIfCancellationRequested();
                long stepStart = Stopwatch.GetTimestamp();
                var next = Step(plan, state, latents, crossAttention, image, batch, call, run.Observer);
                latents.Dispose();
                latents = next;
                Backend.Synchronize();
                run.Steps.Add(Stopwatch.GetElapsedTime(stepStart));
                var loop = Stopwatch.GetElapsedTime(loopStart);
                run.Progress?.Report(new GenerationProgress(call + 1, total, batch, plan.BatchCount, batch * plan.BatchSize,
                    run.Clock.Elapsed, (call + 1) / Math.Max(loop.TotalSeconds, 1e-9)));
            }
            return latents;
        }
        catch
        {
            latents.Dispose();
            throw;
        }
    }

    /// <summary>Text-to-image: the batch's first noise draw (or the replayed latents) × the scheduler's init noise sigma.</summary>
    private Tensor TextToImageStart(GenerationPlan plan, INoiseSource noise, NoiseDraws draws, SamplerState state)
    {
        using var initial = plan.InitLatents is { } values
            ? Backend.FromHost(values, plan.LatentShape)
            : noise.Normal(Backend, plan.LatentShape, draws.InitialNoise!.Value);
        return Backend.Affine(initial, state.Schedule.InitNoiseSigma);
    }

    /// <summary>
    /// One model call and scheduler step: UNet input = scale_model_input(latents), doubled under guidance
    /// ([uncond, cond] rows, matching the [negative, prompt] text rows), with a 9-channel UNet's mask and masked-image
    /// channels after it; the fused step applies the guidance; 4-channel inpainting then blends in the image latents.
    /// </summary>
    private Tensor Step(GenerationPlan plan, SamplerState state, Tensor latents, CrossAttentionContext context, ImageConditioning? image,
        int batch, int call, IGenerationObserver? observer)
    {
        var scheduler = plan.Scheduler;
        float timestep = state.Timestep;
        using var scaled = scheduler.ScaleModelInput(Backend, state, latents);                      // (B, C, h, w)
        using var doubled = plan.Guided ? Backend.Concat(scaled, scaled, axis: 0) : null;           // (2B, C, h, w)
        using var extended = image?.UnetChannels is { } extra ? Backend.Concat(doubled ?? scaled, extra, axis: 1) : null;
        var input = extended ?? doubled ?? scaled;
        using var output = Unet.Forward(input, timestep, context);                                 // (2B or B, C, h, w)
        var next = scheduler.Step(Backend, state, output, latents, plan.Guided ? plan.Request.GuidanceScale : 1f);
        try
        {
            if (image is { Blends: true })
                using (var stepped = next)
                    next = image.Blend(scheduler, state, stepped);
            observer?.StepCompleted(batch, new DenoisingStep(call, timestep, input, output, next));
            return next;
        }
        catch
        {
            next.Dispose();
            throw;
        }
    }
}
