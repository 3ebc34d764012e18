using Diffuser.Schedulers;
using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>What a pipeline's models fix about every generation: sizes and channels.</summary>
/// <param name="VaeScaleFactor">Image pixels per latent pixel.</param>
/// <param name="LatentChannels">The VAE's latent channels (the UNet's output).</param>
/// <param name="DefaultSize">unet sample_size × VAE factor, if the UNet config has a sample_size.</param>
/// <param name="InpaintingUnet">The UNet takes latents, mask and masked-image latents (in_channels 2·C + 1).</param>
/// <param name="UnetSource">The UNet's config file, for messages.</param>
internal sealed record PipelineGeometry(int VaeScaleFactor, int LatentChannels, (int Width, int Height)? DefaultSize,
    bool InpaintingUnet, string UnetSource);

/// <summary>A request checked against the pipeline and resolved: every default filled, every file read.</summary>
internal sealed record GenerationPlan
{
    /// <summary>The largest image side accepted, in pixels.</summary>
    public const int MaxImageSide = 16384;

    public required GenerationRequest Request { get; init; }
    public required GenerationMode Mode { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    /// <summary>(BatchSize, latent channels, height / f, width / f).</summary>
    public required TensorShape LatentShape { get; init; }
    public required Scheduler Scheduler { get; init; }
    /// <summary>diffusers' do_classifier_free_guidance: guidance &gt; 1.</summary>
    public bool Guided => Request.GuidanceScale > 1f;
    public required int BeginIndex { get; init; }
    public required double Strength { get; init; }
    public required IReadOnlyList<ulong> Seeds { get; init; }
    public float[]? InitLatents { get; init; }
    public RecordedNoiseSource? RecordedNoise { get; init; }

    public int BatchSize => Request.BatchSize;
    public int BatchCount => Request.BatchCount;

    /// <summary>Checks <paramref name="request"/>; every bad value is a <see cref="DiffuserException"/> quoting it.</summary>
    public static GenerationPlan Resolve(GenerationRequest request, PipelineGeometry geometry, Func<string?, Scheduler> createScheduler)
    {
        if (request.Prompt is null) throw Bad("The prompt is missing (null).");
        if (request.Steps < 1) throw Bad($"Steps must be ≥ 1, got {request.Steps}.");
        if (!(request.GuidanceScale >= 0f) || float.IsInfinity(request.GuidanceScale))
            throw Bad($"Guidance scale must be a finite number ≥ 0, got {request.GuidanceScale}.");
        if (!(request.Eta >= 0) || double.IsInfinity(request.Eta)) throw Bad($"Eta must be a finite number ≥ 0, got {request.Eta}.");
        if (request.BatchSize < 1) throw Bad($"Batch size must be ≥ 1, got {request.BatchSize}.");
        if (request.BatchCount < 1) throw Bad($"Batch count must be ≥ 1, got {request.BatchCount}.");

        var mode = ModeOf(request, geometry);
        var (width, height) = Size(request, geometry);
        var latentShape = new TensorShape(request.BatchSize, geometry.LatentChannels, height / geometry.VaeScaleFactor, width / geometry.VaeScaleFactor);
        var scheduler = createScheduler(request.Scheduler);
        var (strength, begin) = StartOf(request, mode, scheduler);
        CheckReplay(request, mode);
        return new GenerationPlan
        {
            Request = request,
            Mode = mode,
            Width = width,
            Height = height,
            LatentShape = latentShape,
            Scheduler = scheduler,
            BeginIndex = begin,
            Strength = strength,
            Seeds = SeedsOf(request),
            InitLatents = request.InitLatentsFile is { } latents ? LatentFiles.ReadInitLatents(latents, latentShape) : null,
            RecordedNoise = request.NoiseFile is { } noise ? LatentFiles.ReadNoise(noise) : null,
        };
    }

    private static GenerationMode ModeOf(GenerationRequest request, PipelineGeometry geometry)
    {
        var mode = request.Mask is not null ? GenerationMode.Inpainting
            : request.InitImage is not null ? GenerationMode.ImageToImage
            : GenerationMode.TextToImage;
        if (request.Mask is not null && request.InitImage is null) throw Bad("An inpainting mask needs the init image it applies to.");
        if (request.Mask is { } m && (m.Width != request.InitImage!.Width || m.Height != request.InitImage.Height))
            throw Bad($"The mask is {m.Width}×{m.Height} but the init image is {request.InitImage!.Width}×{request.InitImage.Height}; they must match.");
        if (geometry.InpaintingUnet && mode != GenerationMode.Inpainting)
            throw Bad("This model's UNet is an inpainting UNet (latents, mask and masked-image channels): give an init image and a mask.");
        return mode;
    }

    private static (int Width, int Height) Size(GenerationRequest request, PipelineGeometry geometry)
    {
        int f = geometry.VaeScaleFactor;
        if (request.InitImage is { } image)
        {
            if ((request.Width ?? image.Width) != image.Width || (request.Height ?? image.Height) != image.Height)
                throw Bad($"Requested size {request.Width ?? image.Width}×{request.Height ?? image.Height} differs from the init image's {image.Width}×{image.Height}; resize the image first.");
            CheckSide("Init image width", image.Width, f);
            CheckSide("Init image height", image.Height, f);
            return (image.Width, image.Height);
        }
        if ((request.Width is null || request.Height is null) && geometry.DefaultSize is null)
            throw Bad($"{geometry.UnetSource} has no sample_size: give the width and height.");
        int width = request.Width ?? geometry.DefaultSize!.Value.Width, height = request.Height ?? geometry.DefaultSize!.Value.Height;
        CheckSide("Width", width, f);
        CheckSide("Height", height, f);
        return (width, height);
    }

    /// <summary>A side must be a positive multiple of the VAE factor (the UNet itself takes any latent size).</summary>
    private static void CheckSide(string what, int pixels, int factor)
    {
        if (pixels < factor || pixels > MaxImageSide)
            throw Bad($"{what} {pixels} is out of range: it must be between {factor} and {MaxImageSide} pixels.");
        if (pixels % factor != 0)
            throw Bad($"{what} {pixels} is not a multiple of the VAE scale factor {factor} (try {pixels / factor * factor} or {(pixels / factor + 1) * factor}).");
    }

    private static (double Strength, int BeginIndex) StartOf(GenerationRequest request, GenerationMode mode, Scheduler scheduler)
    {
        if (mode == GenerationMode.TextToImage)
            return request.Strength is { } s ? throw Bad($"Strength {s} needs an init image (image-to-image or inpainting).") : (1.0, 0);
        double strength = request.Strength ?? (mode == GenerationMode.Inpainting ? 1.0 : 0.8);
        if (!(strength > 0 && strength <= 1)) throw Bad($"Strength must be in (0, 1], got {strength}.");
        if ((int)(request.Steps * strength) < 1)
            throw Bad($"Strength {strength} of {request.Steps} steps runs no step (⌊steps·strength⌋ = 0); raise either.");
        return (strength, scheduler.BeginIndexForStrength(request.Steps, strength));
    }

    private static void CheckReplay(GenerationRequest request, GenerationMode mode)
    {
        if (request.InitLatentsFile is not null && mode != GenerationMode.TextToImage)
            throw Bad("Initial latents replace text-to-image's starting noise; image-to-image and inpainting start from the init image.");
        if ((request.InitLatentsFile ?? request.NoiseFile) is { } file && request.BatchCount > 1)
            throw Bad($"Replay file {file} holds one batch; the request asks for {request.BatchCount} batches.");
    }

    private static ulong[] SeedsOf(GenerationRequest request)
    {
        int images = request.BatchSize * request.BatchCount;
        if (request.Seeds is { } seeds)
            return seeds.Count == images ? [.. seeds]
                : throw Bad($"{seeds.Count} seeds for {images} images ({request.BatchCount} batches of {request.BatchSize}); give one per image.");
        ulong first = request.Seed ?? (ulong)Random.Shared.NextInt64(0, int.MaxValue);
        return Enumerable.Range(0, images).Select(i => unchecked(first + (ulong)i)).ToArray();
    }

    private static DiffuserException Bad(string message) => new(message);
}
