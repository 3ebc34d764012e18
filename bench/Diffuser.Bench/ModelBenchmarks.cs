using BenchmarkDotNet.Attributes;
using Diffuser.Backends;
using Diffuser.Benchmarks;
using Diffuser.Kernels.Sampler;
using Diffuser.Models.Blocks;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;

namespace Diffuser.Bench;

/// <summary>
/// The pipeline's components on synthetic weights of the model's exact shapes (<see cref="BenchSettings.ModelFolder"/>):
/// one UNet step at batch 2 (CFG; a later step of a generation, whose text k|v projections are kept), the VAE decode of one image, the text encoder on two prompts, and the fused sampler
/// step (CFG combine + a two-output multistep update in one pass).
/// </summary>
public class ModelBenchmarks
{
    private Backend _backend = null!;
    private SyntheticPipeline _pipe = null!;
    private Tensor _text = null!, _unetInput = null!, _latents = null!, _modelOutput = null!, _history = null!;
    private CrossAttentionContext _context = null!;
    private int[] _ids = [];

    [ParamsSource(nameof(Devices))]
    public string Device { get; set; } = "cpu";

    public IEnumerable<string> Devices => BenchSettings.Devices;

    /// <summary>Latent side at the configured image size.</summary>
    private int LatentSize => BenchSettings.ImageSize / _pipe.LatentScale;

    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendFactory.Create(Device);
        _pipe = SyntheticPipeline.Load(BenchSettings.ModelFolder, _backend);
        _ids = _pipe.PromptIds(BenchSettings.Batch);
        _text = _pipe.TextEncoder.EncodePrompt(_ids, BenchSettings.Batch);
        _context = _pipe.UNet.PrepareContext(_text);   // a step as a generation runs it: the text's k|v made once (in warm-up)
        int images = BenchSettings.Batch / 2, channels = _pipe.UNet.InChannels;
        _latents = _backend.NormalNoise(new TensorShape(images, channels, LatentSize, LatentSize), 1, 0);
        _unetInput = _backend.NormalNoise(new TensorShape(BenchSettings.Batch, channels, LatentSize, LatentSize), 1, 1);
        _modelOutput = _backend.NormalNoise(_unetInput.Shape, 1, 2);
        _history = _backend.NormalNoise(_latents.Shape, 1, 3);
    }

    [Benchmark]
    public void UNetStep()
    {
        _pipe.UNet.Forward(_unetInput, 500f, _context).Dispose();
        _backend.Synchronize();
    }

    [Benchmark]
    public void VaeDecode()
    {
        _pipe.Vae.DecodeUNetLatents(_latents).Dispose();
        _backend.Synchronize();
    }

    [Benchmark]
    public void TextEncoder()
    {
        _pipe.TextEncoder.EncodePrompt(_ids, BenchSettings.Batch).Dispose();
        _backend.Synchronize();
    }

    /// <summary>A DPM-Solver++(2M)-shaped step: guided model output, one history tensor, next sample and new history.</summary>
    [Benchmark]
    public void SamplerStep()
    {
        var coefficients = new SamplerCoefficients(7.5f, new SamplerRow(0.9f, -0.1f, 0.05f, 0, 0, 0), new SamplerRow(1f, -0.5f, 0, 0, 0, 0), default);
        foreach (var t in _backend.SamplerStep(_latents, _modelOutput, [_history], null, coefficients, 2)) t.Dispose();
        _backend.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _context.Dispose();
        foreach (var t in new[] { _text, _unetInput, _latents, _modelOutput, _history }) t.Dispose();
        _pipe.Dispose();
        _backend.Dispose();
    }

    /// <summary>FLOPs and minimum bytes of one invocation of <paramref name="method"/> at the configured shapes: the
    /// components' FLOPs from a shapes-only pass; the sampler step's traffic (it does next to no arithmetic).</summary>
    public static (long Flops, long Bytes) Work(string method)
    {
        string folder = BenchSettings.ModelFolder;
        string Config(string component) => Path.Combine(folder, component, "config.json");
        var vae = AutoencoderKLConfig.Load(Config("vae"));
        var unet = UNet2DConditionConfig.Load(Config("unet"));
        var text = ClipTextConfig.Load(Config("text_encoder"));
        int latent = BenchSettings.ImageSize / vae.ScaleFactor;
        long latentBytes = sizeof(float) * (long)(BenchSettings.Batch / 2) * unet.InChannels * latent * latent;
        return method switch
        {
            nameof(UNetStep) => (ComponentFlops.UNetPass(folder, unet, BenchSettings.Batch, latent, latent, text.MaxPositionEmbeddings, laterStep: true), 0),
            nameof(VaeDecode) => (ComponentFlops.VaeDecode(folder, vae, BenchSettings.Batch / 2, latent, latent), 0),
            nameof(TextEncoder) => (ComponentFlops.TextEncoder(folder, text, BenchSettings.Batch), 0),
            // Reads the sample, both halves of the guided model output and one history tensor; writes two outputs.
            nameof(SamplerStep) => (0, 6 * latentBytes),
            _ => (0, 0),
        };
    }
}
