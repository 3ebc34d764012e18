using BenchmarkDotNet.Attributes;
using Diffuser.Benchmarks;
using Diffuser.Models.Clip;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;

namespace Diffuser.Bench;

/// <summary>
/// The model code's own host work in one fp16 UNet step at batch 2 (a later step of a generation) on a shapes-only
/// backend: every op validates its inputs and allocates its result, and nothing is computed or launched. On a GPU,
/// a step's host time (<c>diffuser bench</c>'s "Host ms") beyond this is the backend's and ILGPU's launching.
/// </summary>
[MemoryDiagnoser]
public class HostWorkBenchmarks
{
    private ShapesOnlyUNet _unet = null!;

    [GlobalSetup]
    public void Setup()
    {
        string folder = BenchSettings.ModelFolder;
        var config = UNet2DConditionConfig.Load(Path.Combine(folder, "unet", "config.json"));
        var text = ClipTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"));
        int latent = BenchSettings.ImageSize / AutoencoderKLConfig.Load(Path.Combine(folder, "vae", "config.json")).ScaleFactor;
        _unet = new ShapesOnlyUNet(folder, config, BenchSettings.Batch, latent, latent, text.MaxPositionEmbeddings, DType.F16);
        _unet.Step().Dispose();   // the text's k|v projected, as in a generation's first step
    }

    [Benchmark]
    public void UNetStepModelCode() => _unet.Step().Dispose();

    [GlobalCleanup]
    public void Cleanup() => _unet.Dispose();
}
