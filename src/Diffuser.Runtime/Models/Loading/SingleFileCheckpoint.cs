using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Weights;

namespace Diffuser.Models.Loading;

/// <summary>
/// A single-file Stable Diffusion checkpoint in the original LDM/CompVis layout (A1111's and most shared
/// <c>.safetensors</c> models): UNet, VAE and text encoder in one file under the prefixes
/// <see cref="LdmCheckpointNames"/> knows. It holds weights only: the configs, tokenizer and scheduler come from a
/// diffusers folder of the same architecture (<see cref="DefaultConfigRepository"/>). Tensors outside the three
/// components (the schedule buffers, <c>model_ema.*</c> of unpruned files) are not read.
/// SD 1.x (CLIP ViT-L text encoder) and SD 2.x (OpenCLIP ViT-H); SDXL files are refused, saying so.
/// </summary>
public sealed class SingleFileCheckpoint : IDisposable
{
    private const string ConvInKey = LdmCheckpointNames.UnetPrefix + "input_blocks.0.0.weight";

    private readonly IWeightSource _file;

    /// <summary>Identifies the checkpoint whose tensors <paramref name="file"/> holds, which it then owns.</summary>
    public SingleFileCheckpoint(IWeightSource file)
    {
        _file = file;
        Identify();
    }

    /// <summary>The file, for messages.</summary>
    public string Path => _file.Description;

    /// <summary>Latent channels the UNet takes: 4, or 9 for an inpainting model.</summary>
    public int UnetInChannels { get; private set; }

    /// <summary>Whether it is an SD 2.x checkpoint (OpenCLIP text encoder) rather than an SD 1.x one.</summary>
    public bool IsSd2 { get; private set; }

    /// <summary>
    /// The diffusers repository whose configs match this checkpoint's architecture (what diffusers'
    /// <c>from_single_file</c> fetches for it): SD 1.5 or SD 2.1 (768 pixels, v-prediction: pass the configs of
    /// <c>stabilityai/stable-diffusion-2-1-base</c> for a 512-pixel ε-prediction model), or their inpainting models for
    /// a 9-channel UNet.
    /// </summary>
    public string DefaultConfigRepository => (IsSd2, UnetInChannels == 9) switch
    {
        (false, false) => "stable-diffusion-v1-5/stable-diffusion-v1-5",
        (false, true) => "stable-diffusion-v1-5/stable-diffusion-inpainting",
        (true, false) => "stabilityai/stable-diffusion-2-1",
        (true, true) => "stabilityai/stable-diffusion-2-inpainting",
    };

    /// <summary>Opens (memory-maps) and identifies a checkpoint; fails naming what it is when it is not an SD 1.x/2.x one.</summary>
    public static SingleFileCheckpoint Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new DiffuserException($"Checkpoint not found: {full}");
        if (!full.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new DiffuserException($"{full}: not a .safetensors file. Diffuser reads only safetensors; convert PyTorch .ckpt files first.");
        var file = new SafetensorsWeightSource(full);
        try
        {
            return new SingleFileCheckpoint(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void Identify()
    {
        var names = _file.Names.ToList();
        bool Any(string prefix) => names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
        if (Any("conditioner.embedders."))
            throw new DiffuserException($"{Path} is an SDXL checkpoint; single-file SDXL checkpoints are not supported yet: use its diffusers folder.");
        if (!_file.TryGetShape(ConvInKey, out var convIn) || convIn.Length != 4)
            throw new DiffuserException($"{Path} is not a Stable Diffusion single-file checkpoint: it has no '{ConvInKey}'.");
        UnetInChannels = convIn[1];
        IsSd2 = Any(LdmCheckpointNames.OpenClipTextPrefix);
        foreach (var (prefix, part) in new[] { (TextEncoderPrefix, "text encoder"), (LdmCheckpointNames.VaePrefix, "VAE") })
            if (!Any(prefix)) throw new DiffuserException($"{Path} has no {part} ('{prefix}*'): a UNet-only file cannot be loaded as a whole pipeline.");
    }

    /// <summary>The UNet's tensors in diffusers' names, for a model of <paramref name="config"/>.</summary>
    public IWeightSource Unet(UNet2DConditionConfig config) =>
        new RenamedWeightSource(_file, LdmCheckpointNames.UnetPrefix, One(LdmCheckpointNames.Unet(config)));

    /// <summary>The VAE's tensors in diffusers' names, for a model of <paramref name="config"/>.</summary>
    public IWeightSource Vae(AutoencoderKLConfig config) =>
        new RenamedWeightSource(_file, LdmCheckpointNames.VaePrefix, One(LdmCheckpointNames.Vae(config)), LdmCheckpointNames.VaeShape);

    /// <summary>The text encoder's tensors in transformers' names, for a model of <paramref name="config"/>.</summary>
    public IWeightSource TextEncoder(ClipTextConfig config) => new RenamedWeightSource(_file, TextEncoderPrefix,
        IsSd2 ? LdmCheckpointNames.OpenClipText(config) : One(LdmCheckpointNames.ClipText()));

    private string TextEncoderPrefix => IsSd2 ? LdmCheckpointNames.OpenClipTextPrefix : LdmCheckpointNames.ClipTextPrefix;

    /// <summary>Each tensor under one new name.</summary>
    private static Func<string, IReadOnlyList<string>> One(PrefixRenames names) => name => [names.Rename(name)];

    public void Dispose() => _file.Dispose();
}
