using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Benchmarks;

/// <summary>
/// A text-to-image pipeline's models (text encoder, UNet, VAE) with random weights of the exact shapes a model folder
/// describes, and its scheduler. Shapes come from each component's <c>weights-manifest.json</c> when present (config-only
/// folders such as <c>shared/models/sd15</c>), else from the headers of its safetensors files, whose data is never read.
/// </summary>
public sealed class SyntheticPipeline : IDisposable
{
    private SyntheticPipeline(ClipTextModel textEncoder, UNet2DConditionModel unet, AutoencoderKL vae, Scheduler scheduler,
        long weightBytes, double seconds)
    {
        TextEncoder = textEncoder;
        UNet = unet;
        Vae = vae;
        Scheduler = scheduler;
        WeightBytes = weightBytes;
        SynthesisSeconds = seconds;
    }

    public ClipTextModel TextEncoder { get; }
    public UNet2DConditionModel UNet { get; }
    public AutoencoderKL Vae { get; }
    public Scheduler Scheduler { get; }
    public Backend Backend => UNet.Backend;

    /// <summary>Bytes of weights on the device, all three models.</summary>
    public long WeightBytes { get; }

    /// <summary>Wall time to synthesise and upload the weights.</summary>
    public double SynthesisSeconds { get; }

    /// <summary>Image pixels per latent pixel (the VAE's scale factor).</summary>
    public int LatentScale => Vae.ScaleFactor;

    /// <summary>The image size the UNet was trained at (its sample_size × the VAE factor), e.g. 512 for SD 1.5.</summary>
    public int DefaultImageSize => (UNet.Config.DefaultLatentSize?.Height ?? 64) * LatentScale;

    /// <summary>
    /// Builds the models of the pipeline folder <paramref name="modelFolder"/> (with <c>unet/</c>, <c>vae/</c>,
    /// <c>text_encoder/</c> and <c>scheduler/</c>) on <paramref name="backend"/>. With <paramref name="weightDType"/>
    /// F16 the models run in fp16, as a pipeline loaded with that dtype does (the VAE too, unless
    /// <paramref name="vaeDType"/> says otherwise).
    /// </summary>
    public static SyntheticPipeline Load(string modelFolder, Backend backend, DType weightDType = DType.F32, ulong seed = 1, DType? vaeDType = null)
    {
        if (!Directory.Exists(modelFolder)) throw new DiffuserException($"Model folder not found: {modelFolder}");
        var clock = Stopwatch.StartNew();
        var unetConfig = UNet2DConditionConfig.Load(ConfigOf(modelFolder, "unet")).Validate();
        if (unetConfig.HasTextTimeEmbedding)
            throw new DiffuserException($"{modelFolder}: SDXL-style UNets (addition_embed_type text_time) are not covered by the benchmark yet.");
        var vaeConfig = AutoencoderKLConfig.Load(ConfigOf(modelFolder, "vae")).Validate();
        var textConfig = ClipTextConfig.Load(ConfigOf(modelFolder, "text_encoder"));
        var scheduler = SchedulerRegistry.FromConfig(SchedulerConfig.Load(ConfigOf(modelFolder, "scheduler", "scheduler_config.json")));

        ClipTextModel? text = null;
        UNet2DConditionModel? unet = null;
        AutoencoderKL? vae = null;
        long bytes = 0;
        try
        {
            using (var source = Synthetic(modelFolder, "text_encoder", ComponentFolder.TransformersWeightsName, seed))
            {
                text = ClipTextModel.Create(textConfig, source, backend, weightDType);
                bytes += source.BytesLoaded;
            }
            using (var source = Synthetic(modelFolder, "unet", ComponentFolder.DiffusersWeightsName, seed + 1))
            {
                unet = UNet2DConditionModel.FromWeights(unetConfig, source, backend, weightDType);
                bytes += source.BytesLoaded;
            }
            using (var source = Synthetic(modelFolder, "vae", ComponentFolder.DiffusersWeightsName, seed + 2))
            {
                vae = AutoencoderKL.FromWeights(vaeConfig, source, backend, vaeDType ?? weightDType, honourForceUpcast: false);
                bytes += source.BytesLoaded;
            }
            backend.Synchronize();
            return new SyntheticPipeline(text, unet, vae, scheduler, bytes, clock.Elapsed.TotalSeconds);
        }
        catch
        {
            text?.Dispose();
            unet?.Dispose();
            vae?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The names and shapes of one component: its weights-manifest.json, else its safetensors headers. Exposed for
    /// FLOP counting, where a <see cref="MetaBackend"/> builds the model from shapes alone.
    /// </summary>
    public static IWeightSource ShapesOf(string modelFolder, string component, string weightsName)
    {
        string folder = Path.Combine(modelFolder, component);
        string manifest = Path.Combine(folder, ManifestFile);
        return File.Exists(manifest) ? new ManifestWeightSource(manifest) : ComponentFolder.Find(folder, weightsName).OpenWeights();
    }

    private const string ManifestFile = "weights-manifest.json";

    /// <summary>Token ids for <paramref name="batch"/> prompts of the encoder's full length (the values do not matter for timing).</summary>
    public int[] PromptIds(int batch)
    {
        var config = TextEncoder.Config;
        var ids = new int[batch * config.MaxPositionEmbeddings];
        for (int i = 0; i < ids.Length; i++) ids[i] = (int)((i * 7919L + 13) % config.VocabSize);
        return ids;
    }

    private static SyntheticWeightSource Synthetic(string modelFolder, string component, string weightsName, ulong seed) =>
        new(ShapesOf(modelFolder, component, weightsName), seed);

    /// <summary>A component's config file in a pipeline folder, or an error that says what the benchmark needs.</summary>
    internal static string ConfigOf(string modelFolder, string component, string file = "config.json")
    {
        string path = Path.Combine(modelFolder, component, file);
        return File.Exists(path) ? path
            : throw new DiffuserException($"{modelFolder}: no {component}/{file} (the benchmark needs a diffusers pipeline folder with unet, vae, text_encoder and scheduler).");
    }

    public void Dispose()
    {
        TextEncoder.Dispose();
        UNet.Dispose();
        Vae.Dispose();
    }
}
