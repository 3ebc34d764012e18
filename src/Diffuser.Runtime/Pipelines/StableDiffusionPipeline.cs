using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Text;
using Diffuser.Imaging;

namespace Diffuser.Pipelines;

/// <summary>
/// Stable Diffusion 1.x/2.x text-to-image, image-to-image and inpainting, as diffusers' StableDiffusionPipeline,
/// StableDiffusionImg2ImgPipeline and StableDiffusionInpaintPipeline. Load once, then call <see cref="Generate"/> for
/// each request: weights stay on the backend, the prompt embeddings of the last request are reused when the prompts
/// repeat, and every activation comes from (and goes back to) the backend's buffer pool, so repeated generations
/// allocate nothing new. One generation at a time per pipeline.
/// </summary>
public sealed partial class StableDiffusionPipeline : IDisposable
{
    /// <summary>Where a diffusers pipeline folder keeps its scheduler config.</summary>
    public const string SchedulerConfigPath = "scheduler/scheduler_config.json";

    private readonly PromptEncoder _prompts;
    private readonly Dictionary<string, Scheduler> _schedulers = new(StringComparer.Ordinal);
    private int _busy;

    /// <summary>
    /// Assembles a pipeline from loaded components, which it then owns (disposing it disposes them). Components that
    /// do not fit together (text width, latent channels) are refused with a <see cref="DiffuserException"/>, and then
    /// stay the caller's.
    /// </summary>
    public StableDiffusionPipeline(ClipTokenizer tokenizer, ClipTextModel textEncoder, UNet2DConditionModel unet,
        IImageAutoencoder vae, SchedulerConfig schedulerConfig)
    {
        Tokenizer = tokenizer;
        TextEncoder = textEncoder;
        Unet = unet;
        Vae = vae;
        SchedulerConfig = schedulerConfig;
        CheckComponents();
        _prompts = new PromptEncoder(tokenizer, textEncoder);
    }

    /// <summary>
    /// Loads a diffusers pipeline folder (tokenizer, text_encoder, unet, vae, scheduler) onto <paramref name="backend"/>,
    /// stored as <see cref="PipelineOptions.DType"/> (F16 and F32 files are converted on upload as needed).
    /// </summary>
    public static StableDiffusionPipeline Load(string modelFolder, Backend backend, PipelineOptions? options = null)
    {
        if (!Directory.Exists(modelFolder)) throw new DiffuserException($"Model folder not found: {Path.GetFullPath(modelFolder)}");
        return Assemble(modelFolder, backend, options ?? new PipelineOptions(),
            dtype => ClipTextModel.FromModelFolder(modelFolder, backend, dtype: dtype),
            dtype => UNet2DConditionModel.FromModelFolder(modelFolder, backend, dtype: dtype),
            dtype => AutoencoderKL.FromModelFolder(modelFolder, backend, dtype: dtype, honourForceUpcast: false));
    }

    /// <summary>
    /// A pipeline with the tokenizer and scheduler config of <paramref name="configFolder"/> and the models the three
    /// functions load in the dtype they are given; what was loaded before a failure is freed again.
    /// </summary>
    private static StableDiffusionPipeline Assemble(string configFolder, Backend backend, PipelineOptions options,
        Func<DType, ClipTextModel> loadTextEncoder, Func<DType, UNet2DConditionModel> loadUnet, Func<DType, AutoencoderKL> loadVae)
    {
        var tokenizer = ClipTokenizer.FromModelFolder(configFolder);
        var schedulerConfig = SchedulerConfig.Load(Path.Combine(configFolder, SchedulerConfigPath));
        var owned = new List<IDisposable>();
        try
        {
            var dtype = options.DType;
            var textEncoder = Own(owned, loadTextEncoder(dtype));
            var unet = Own(owned, loadUnet(dtype));
            // diffusers' SD 1.x/2.x pipelines decode in the pipeline's dtype whatever the VAE's force_upcast says.
            var vaeDType = options.VaeDType ?? dtype;
            IImageAutoencoder vae = options.TinyAutoencoderFolder is { } taesd
                ? Own(owned, AutoencoderTiny.Load(taesd, backend, vaeDType, honourForceUpcast: false))
                : Own(owned, loadVae(vaeDType));
            return new StableDiffusionPipeline(tokenizer, textEncoder, unet, vae, schedulerConfig);
        }
        catch
        {
            foreach (var component in owned) component.Dispose();
            throw;
        }
    }

    private static T Own<T>(List<IDisposable> owned, T component) where T : IDisposable
    {
        owned.Add(component);
        return component;
    }

    public ClipTokenizer Tokenizer { get; }
    public ClipTextModel TextEncoder { get; }
    public UNet2DConditionModel Unet { get; }
    /// <summary>The model's AutoencoderKL, or the TAESD that <see cref="PipelineOptions.TinyAutoencoderFolder"/> named.</summary>
    public IImageAutoencoder Vae { get; }
    /// <summary>The model's scheduler_config.json, which every scheduler of a request is built from.</summary>
    public SchedulerConfig SchedulerConfig { get; }
    public Backend Backend => Unet.Backend;

    /// <summary>Image pixels per latent pixel (sizes must be multiples of it).</summary>
    public int VaeScaleFactor => Vae.ScaleFactor;

    /// <summary>A 9-channel inpainting UNet (latents, mask, masked-image latents): it serves inpainting requests only.</summary>
    public bool IsInpaintingModel => Unet.InChannels == 2 * Vae.LatentChannels + 1;

    /// <summary>The size a request without width and height gets: the UNet's sample_size × the VAE factor (null when
    /// the UNet config has no sample_size).</summary>
    public (int Width, int Height)? DefaultSize => Unet.Config.DefaultLatentSize is var (h, w)
        ? (w * VaeScaleFactor, h * VaeScaleFactor)
        : null;

    /// <summary>The scheduler a request names (<see cref="SchedulerRegistry"/>; null = the config's own class), built
    /// from the model's config once. Unknown names throw the registry's error listing the valid ones.</summary>
    public Scheduler SchedulerFor(string? name)
    {
        string key = name ?? "";
        lock (_schedulers)
        {
            if (!_schedulers.TryGetValue(key, out var scheduler))
                _schedulers[key] = scheduler = name is null ? SchedulerRegistry.FromConfig(SchedulerConfig) : SchedulerRegistry.Create(name, SchedulerConfig);
            return scheduler;
        }
    }

    /// <summary>
    /// Runs a request: every batch is denoised and decoded in turn. <paramref name="progress"/> hears after each step;
    /// <paramref name="cancellationToken"/> is checked between steps (cancelling throws
    /// <see cref="OperationCanceledException"/> with every tensor of the run released). Bad requests throw a
    /// <see cref="DiffuserException"/> naming the value.
    /// </summary>
    public GenerationResult Generate(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        IGenerationObserver? observer = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Interlocked.Exchange(ref _busy, 1) == 1)
            throw new DiffuserException("This pipeline is already running a generation; pipelines run one at a time.");
        try
        {
            var run = new GenerationRun(Stopwatch.StartNew(), progress, observer, cancellationToken);
            var plan = GenerationPlan.Resolve(request, Geometry, SchedulerFor);
            cancellationToken.ThrowIfCancellationRequested();

            long start = Stopwatch.GetTimestamp();
            var context = _prompts.Encode(request.Prompt, plan.Guided ? request.NegativePrompt ?? "" : null, request.ClipSkip, plan.BatchSize);
            Backend.Synchronize();
            var textEncode = Stopwatch.GetElapsedTime(start);
            observer?.PromptEncoded(context);

            var images = new List<GeneratedImage>();
            var latents = request.ReturnLatents || request.SaveLatentsFile is not null ? new List<float>() : null;
            for (int batch = 0; batch < plan.BatchCount; batch++)
            {
                using var final = RunBatch(plan, batch, context, run);
                cancellationToken.ThrowIfCancellationRequested();
                latents?.AddRange(final.ToArray());
                images.AddRange(DecodeBatch(plan, batch, final, run));
            }

            var finalLatents = latents is null ? null
                : new LatentBatch([.. latents], [plan.BatchSize * plan.BatchCount, .. plan.LatentShape.Dims[1..]]);
            if (request.SaveLatentsFile is { } path) LatentFiles.SaveFinalLatents(path, finalLatents!);
            var timings = new GenerationTimings(textEncode, run.PrepareLatents, run.Steps, run.VaeDecode, run.Clock.Elapsed);
            return new GenerationResult(images, timings, request.ReturnLatents ? finalLatents : null);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private PipelineGeometry Geometry => new(VaeScaleFactor, Vae.LatentChannels, DefaultSize, IsInpaintingModel, Unet.Config.Source);

    /// <summary>Decodes a batch's latents into 8-bit RGB images.</summary>
    private IEnumerable<GeneratedImage> DecodeBatch(GenerationPlan plan, int batch, Tensor latents, GenerationRun run)
    {
        long start = Stopwatch.GetTimestamp();
        byte[] pixels;
        using (var decoded = Vae.DecodeUNetLatents(latents))                       // (B, 3, H, W) in about [−1, 1]
        using (var unit = VaeImageProcessor.ToUnitRange(Backend, decoded))          // (B, 3, H, W) in [0, 1]
        {
            run.Observer?.ImagesDecoded(batch, unit);
            pixels = VaeImageProcessor.ToBytesNhwc(unit);                           // (B, H, W, 3)
        }
        run.VaeDecode += Stopwatch.GetElapsedTime(start);
        int size = plan.Width * plan.Height * 3;
        return Enumerable.Range(0, plan.BatchSize).Select(i =>
        {
            int index = batch * plan.BatchSize + i;
            return new GeneratedImage(new RgbImage(plan.Width, plan.Height, pixels[(i * size)..((i + 1) * size)]), plan.Seeds[index], index);
        }).ToList();
    }

    /// <summary>Fails unless the components fit together (widths, channels) as an SD 1.x/2.x pipeline.</summary>
    private void CheckComponents()
    {
        string unet = Unet.Config.Source;
        if (Unet.Config.HasTextTimeEmbedding)
            throw new DiffuserException($"{unet}: an SDXL UNet (addition_embed_type text_time) needs SDXL's two text encoders; this pipeline runs SD 1.x/2.x.");
        if (Unet.CrossAttentionDim != TextEncoder.Config.HiddenSize)
            throw new DiffuserException($"{unet}: cross_attention_dim {Unet.CrossAttentionDim} does not match the text encoder's hidden size {TextEncoder.Config.HiddenSize}.");
        int latent = Vae.LatentChannels;
        if (Unet.OutChannels != latent)
            throw new DiffuserException($"{unet}: out_channels {Unet.OutChannels} does not match the VAE's {latent} latent channels.");
        if (Unet.InChannels != latent && Unet.InChannels != 2 * latent + 1)
            throw new DiffuserException($"{unet}: in_channels {Unet.InChannels} is neither the VAE's {latent} latent channels nor an inpainting UNet's {2 * latent + 1}.");
        if (Tokenizer.VocabularySize > TextEncoder.Config.VocabSize)
            throw new DiffuserException($"The tokenizer has {Tokenizer.VocabularySize} ids but the text encoder only {TextEncoder.Config.VocabSize} embeddings.");
    }

    public void Dispose()
    {
        _prompts.Dispose();
        TextEncoder.Dispose();
        Unet.Dispose();
        Vae.Dispose();
    }
}
