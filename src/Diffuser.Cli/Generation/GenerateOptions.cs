using System.CommandLine;
using Diffuser.Backends;

namespace Diffuser.Cli.Generation;

/// <summary>What <c>diffuser generate</c> was asked to do, as parsed from its options.</summary>
public sealed record GenerateSettings
{
    public required string Model { get; init; }
    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";
    public int Steps { get; init; }
    public double Guidance { get; init; }
    public string? Sampler { get; init; }
    public double Eta { get; init; }
    /// <summary>A1111 numbering: 1 = the last layer.</summary>
    public int ClipSkip { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    /// <summary>Null: a random seed.</summary>
    public ulong? Seed { get; init; }
    public int BatchSize { get; init; }
    public int BatchCount { get; init; }
    public required string Output { get; init; }
    public bool Overwrite { get; init; }
    public required string Device { get; init; }
    public required string DType { get; init; }
    /// <summary>null: the VAE follows --dtype.</summary>
    public string? VaeDType { get; init; }
    public string? InitImage { get; init; }
    public string? Mask { get; init; }
    /// <summary>The option's value; null when not given (then img2img and inpainting use <see cref="GenerateOptions.DefaultStrength"/>).</summary>
    public double? Strength { get; init; }
    public string? Taesd { get; init; }
    public string? InitLatents { get; init; }
    public string? Noise { get; init; }
    public string? SaveLatents { get; init; }
    public bool Offline { get; init; }
    /// <summary>A single-file checkpoint's configs (folder or hub id); null: its base model's.</summary>
    public string? Config { get; init; }
    public string? Variant { get; init; }
    public bool Json { get; init; }
}

/// <summary>
/// The options of <c>diffuser generate</c>, named as diffusers and AUTOMATIC1111 name them, with their defaults:
/// 25 steps (a middle ground between A1111's 20 and diffusers' 50 that suits the common samplers), guidance 7.5
/// (diffusers), the model's own scheduler and native size, strength 0.75 for img2img and inpainting (A1111).
/// </summary>
public sealed class GenerateOptions
{
    public const int DefaultSteps = 25;
    public const double DefaultGuidance = 7.5;
    public const double DefaultStrength = 0.75;
    public const string DefaultOutput = "outputs";

    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "A diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/), a Hugging Face hub id (org/name[@revision]), downloaded into the Hugging Face cache, or an SD 1.x/2.x single-file checkpoint (.safetensors, the original layout; see --config).",
        Required = true,
    };
    private readonly Option<string> _prompt = new("--prompt", "-p") { Description = "What to draw.", Required = true };
    private readonly Option<string> _negative = new("--negative-prompt", "-n") { Description = "What to steer away from (the unconditional prompt).", DefaultValueFactory = _ => "" };
    private readonly Option<int> _steps = new("--steps") { Description = "Denoising steps (img2img and inpainting run ⌊steps·strength⌋ of them).", DefaultValueFactory = _ => DefaultSteps };
    private readonly Option<double> _guidance = new("--guidance", "--cfg-scale") { Description = "Classifier-free guidance scale; 1 or less turns guidance off.", DefaultValueFactory = _ => DefaultGuidance };
    private readonly Option<string?> _sampler = new("--sampler", "--scheduler") { Description = "Sampler: euler_a, euler, dpm++_2m, dpm++_2m_karras, ddim, plms, lms, heun, unipc, ... or a diffusers class name. Default: the model's own scheduler." };
    private readonly Option<double> _eta = new("--eta") { Description = "DDIM's eta (0 = deterministic); other samplers ignore it." };
    private readonly Option<int> _clipSkip = new("--clip-skip") { Description = "CLIP layers to stop early, A1111 numbering: 1 = last layer, 2 = penultimate.", DefaultValueFactory = _ => 1 };
    private readonly Option<int?> _width = new("--width", "-W") { Description = "Image width in pixels (a multiple of the VAE factor, 8 for Stable Diffusion). Default: the model's native size; with --init-image the image is resized to it." };
    private readonly Option<int?> _height = new("--height", "-H") { Description = "Image height in pixels; see --width." };
    private readonly Option<long> _seed = new("--seed") { Description = "Seed of the first image (image i gets seed + i). -1 or omitted: a random seed, which is printed.", DefaultValueFactory = _ => -1 };
    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Images denoised together.", DefaultValueFactory = _ => 1 };
    private readonly Option<int> _batchCount = new("--batch-count") { Description = "Batches run one after another.", DefaultValueFactory = _ => 1 };
    private readonly Option<string> _output = new("--output", "-o") { Description = "A .png file for a single image, or a folder for numbered A1111-style names (00000-<seed>.png).", DefaultValueFactory = _ => DefaultOutput };
    private readonly Option<bool> _overwrite = new("--overwrite") { Description = "Replace existing output files (otherwise an existing file is an error)." };
    private readonly Option<string> _device = new("--device") { Description = $"Where to run: {string.Join(", ", BackendFactory.DeviceNames)} (see 'diffuser devices').", DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _dtype = new("--dtype") { Description = "Storage of weights and activations: fp32, or fp16 (fp32 accumulation; latents and sampler steps stay fp32). Weight files of either precision are converted on loading.", DefaultValueFactory = _ => "fp32" };
    private readonly Option<string?> _vaeDtype = new("--vae-dtype") { Description = "The VAE's storage, fp32 or fp16 (default: --dtype, as diffusers' SD 1.x/2.x pipelines; fp32 is slower and a little more precise)." };
    private readonly Option<string?> _initImage = new("--init-image") { Description = "Start from this image (img2img); with --mask, repaint part of it (inpainting)." };
    private readonly Option<string?> _mask = new("--mask") { Description = "Inpainting mask, the init image's size: white = repaint, black = keep." };
    private readonly Option<double?> _strength = new("--strength") { Description = $"How much of the init image to change, in (0, 1] (default {DefaultStrength})." };
    private readonly Option<string?> _taesd = new("--taesd") { Description = "A tiny autoencoder (TAESD) folder or hub id used instead of the model's VAE: much faster, slightly less faithful." };
    private readonly Option<string?> _initLatents = new("--init-latents") { Description = "Replay: a safetensors file with the starting latents (tensor init_latents, or its only tensor)." };
    private readonly Option<string?> _noise = new("--noise") { Description = "Replay: a safetensors file with recorded noise draws noise.00, noise.01, ... used instead of the seed's." };
    private readonly Option<string?> _saveLatents = new("--save-latents") { Description = "Also write the final latents (tensor final_latents) to this safetensors file." };
    private readonly Option<bool> _offline = new("--offline") { Description = "Use only models already on disk or in the Hugging Face cache (as HF_HUB_OFFLINE=1)." };
    private readonly Option<string?> _config = new("--config") { Description = "For a single-file checkpoint: a diffusers folder or hub id of the same architecture whose configs, tokenizer and scheduler to use (no weights are read or downloaded). Default: the checkpoint's base model, stable-diffusion-v1-5/stable-diffusion-v1-5 or stabilityai/stable-diffusion-2-1 (or their inpainting models)." };
    private readonly Option<string?> _variant = new("--variant") { Description = "Weight variant to download, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors); --dtype decides the precision it runs in." };
    private readonly Option<bool> _json = new("--json") { Description = "Print a machine-readable summary (files, seeds, timings) as JSON; progress goes to stderr." };

    public GenerateOptions()
    {
        _dtype.AcceptOnlyFromAmong("fp32", "fp16");
        _vaeDtype.AcceptOnlyFromAmong("fp32", "fp16");
    }

    /// <summary>Every option, in the order help lists them.</summary>
    public IEnumerable<Option> All =>
    [
        _model, _prompt, _negative, _steps, _guidance, _sampler, _eta, _clipSkip, _width, _height, _seed, _batchSize, _batchCount,
        _initImage, _mask, _strength, _output, _overwrite, _device, _dtype, _vaeDtype, _taesd, _initLatents, _noise, _saveLatents,
        _offline, _config, _variant, _json,
    ];

    public GenerateSettings Bind(ParseResult result)
    {
        long seed = result.GetValue(_seed);
        if (seed < -1) throw new DiffuserException($"--seed {seed} is not a seed: give a number ≥ 0, or -1 for a random one.");
        return new GenerateSettings
        {
            Model = result.GetValue(_model)!,
            Prompt = result.GetValue(_prompt)!,
            NegativePrompt = result.GetValue(_negative) ?? "",
            Steps = result.GetValue(_steps),
            Guidance = result.GetValue(_guidance),
            Sampler = result.GetValue(_sampler),
            Eta = result.GetValue(_eta),
            ClipSkip = result.GetValue(_clipSkip),
            Width = result.GetValue(_width),
            Height = result.GetValue(_height),
            Seed = seed < 0 ? null : (ulong)seed,
            BatchSize = result.GetValue(_batchSize),
            BatchCount = result.GetValue(_batchCount),
            Output = result.GetValue(_output)!,
            Overwrite = result.GetValue(_overwrite),
            Device = result.GetValue(_device)!,
            DType = result.GetValue(_dtype)!,
            VaeDType = result.GetValue(_vaeDtype),
            InitImage = result.GetValue(_initImage),
            Mask = result.GetValue(_mask),
            Strength = result.GetValue(_strength),
            Taesd = result.GetValue(_taesd),
            InitLatents = result.GetValue(_initLatents),
            Noise = result.GetValue(_noise),
            SaveLatents = result.GetValue(_saveLatents),
            Offline = result.GetValue(_offline),
            Config = result.GetValue(_config),
            Variant = result.GetValue(_variant),
            Json = result.GetValue(_json),
        };
    }
}
