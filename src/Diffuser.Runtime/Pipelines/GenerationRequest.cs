using Diffuser.Models.Clip;
using Diffuser.Imaging;

namespace Diffuser.Pipelines;

/// <summary>
/// One call of <see cref="StableDiffusionPipeline.Generate"/>: text-to-image, image-to-image when
/// <see cref="InitImage"/> is set, inpainting when <see cref="Mask"/> is set too. Defaults are diffusers'.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>What to draw (truncated to the tokenizer's 77 tokens, as diffusers does).</summary>
    public required string Prompt { get; init; }

    /// <summary>The unconditional prompt of classifier-free guidance (diffusers' default: empty).</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Image size in pixels: a multiple of the VAE's scale factor. Default: the init image's size, else the
    /// UNet's sample_size × the VAE scale factor.</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>Inference steps of the scheduler (img2img and inpainting run the last ⌊steps·strength⌋ of them).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Classifier-free guidance scale; at 1 or below there is no unconditional pass (diffusers' rule: guidance &gt; 1).</summary>
    public float GuidanceScale { get; init; } = 7.5f;

    /// <summary>A <see cref="Schedulers.SchedulerRegistry"/> name ("ddim", "euler_a", "dpm++_2m_karras", a diffusers
    /// class name); null = the model's own scheduler_config.json class.</summary>
    public string? Scheduler { get; init; }

    /// <summary>DDIM's η (0 = deterministic); other schedulers ignore it.</summary>
    public double Eta { get; init; }

    /// <summary>Text-encoder layers to leave out at the end (<see cref="ClipSkip.FromA1111"/> / <see cref="ClipSkip.FromDiffusers"/>).</summary>
    public ClipSkip ClipSkip { get; init; }

    /// <summary>Images per denoising batch (diffusers' num_images_per_prompt).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Batches run one after another.</summary>
    public int BatchCount { get; init; } = 1;

    /// <summary>Seed of the first image; image i gets Seed + i. Null picks a random seed (reported in the result).</summary>
    public ulong? Seed { get; init; }

    /// <summary>One seed per image (BatchSize·BatchCount of them), overriding <see cref="Seed"/>.</summary>
    public IReadOnlyList<ulong>? Seeds { get; init; }

    /// <summary>The image to start from (img2img) or to repaint (inpainting).</summary>
    public RgbImage? InitImage { get; init; }

    /// <summary>How much of the schedule to run on the init image, in (0, 1]. Default 0.8 for img2img, 1 for inpainting.</summary>
    public double? Strength { get; init; }

    /// <summary>Inpainting mask at the init image's size (1 = repaint).</summary>
    public InpaintMask? Mask { get; init; }

    /// <summary>Replay: a safetensors file holding the text-to-image starting noise [BatchSize, C, h, w] as tensor
    /// <c>init_latents</c> or as its only tensor (used instead of the first noise draw; single batch only).</summary>
    public string? InitLatentsFile { get; init; }

    /// <summary>Replay: a safetensors file of recorded noise draws <c>noise.00</c>, <c>noise.01</c>, … in call order,
    /// each [BatchSize, C, h, w], used instead of the seeds' Philox noise (single batch only).</summary>
    public string? NoiseFile { get; init; }

    /// <summary>Writes the final latents of every image as tensor <c>final_latents</c> to this safetensors file.</summary>
    public string? SaveLatentsFile { get; init; }

    /// <summary>Returns the final latents in <see cref="GenerationResult.FinalLatents"/>.</summary>
    public bool ReturnLatents { get; init; }
}
