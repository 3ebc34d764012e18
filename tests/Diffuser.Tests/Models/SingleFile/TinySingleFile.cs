using Diffuser.IO;
using Diffuser.Models.Clip;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models.SingleFile;

/// <summary>
/// A tiny pipeline's weights (tiny-sd, or tiny-sd2 with its OpenCLIP-style text encoder) as one original-layout
/// single-file checkpoint, converted by <see cref="LdmConversionScript"/> (the VAE attention's projections as 1×1
/// convolutions, SD 2.x's q/k/v fused), with what released files also carry: LatentDiffusion's schedule buffers and an
/// EMA entry; SD 1.x's position_ids; for SD 2.x the OpenCLIP layer the model does not use, text_projection and logit_scale.
/// </summary>
internal static class TinySingleFile
{
    public static string Folder(string model = "tiny-sd") => TestPaths.Model(model);

    /// <summary>
    /// Writes <paramref name="model"/>'s checkpoint to <paramref name="path"/>; <paramref name="rename"/> may rename each
    /// tensor (null: leave it out), <paramref name="add"/> add others; <paramref name="half"/> stores the weights as fp16,
    /// as most shared files are.
    /// </summary>
    public static string Write(string path, Func<string, string?>? rename = null, Action<SafetensorsWriter>? add = null, bool half = false,
        string model = "tiny-sd")
    {
        var writer = new SafetensorsWriter();
        void Put(string name, float[] values, int[] shape)
        {
            if ((rename is null ? name : rename(name)) is not { } renamed) return;
            if (half) writer.Add(renamed, Array.ConvertAll(values, v => (Half)v), shape);
            else writer.Add(renamed, values, shape);
        }
        IEnumerable<(string Name, float[] Values, int[] Shape)> Read(string component, string file)
        {
            using var weights = SafetensorsFile.Open(Path.Combine(Folder(model), component, file));
            return weights.Tensors.Select(t => (t.Name, weights.ReadSingles(t.Name), t.Shape)).ToList();
        }

        foreach (var (name, values, shape) in Read("unet", "diffusion_pytorch_model.safetensors"))
            Put(LdmConversionScript.UnetPrefix + LdmConversionScript.Unet(name), values, shape);
        foreach (var (name, values, shape) in Read("vae", "diffusion_pytorch_model.safetensors"))
        {
            var ldm = LdmConversionScript.Vae(name, blocks: 2);
            Put(LdmConversionScript.VaePrefix + ldm, values, LdmConversionScript.IsVaeConvAttention(ldm) ? [.. shape, 1, 1] : shape);
        }
        var text = Read("text_encoder", "model.safetensors");
        if (model == "tiny-sd2")
        {
            foreach (var (name, values, shape) in LdmConversionScript.TextV20(text)) Put(LdmConversionScript.TextV20Prefix + name, values, shape);
            int width = ClipTextConfig.Load(Path.Combine(Folder(model), "text_encoder", "config.json")).HiddenSize;
            int unused = text.Count(t => t.Name.EndsWith(".layer_norm1.weight", StringComparison.Ordinal));
            Put($"{LdmConversionScript.TextV20Prefix}transformer.resblocks.{unused}.ln_1.weight", new float[width], [width]);
            Put($"{LdmConversionScript.TextV20Prefix}transformer.resblocks.{unused}.attn.in_proj_weight", new float[3 * width * width], [3 * width, width]);
            Put(LdmConversionScript.TextV20Prefix + "text_projection", new float[width * width], [width, width]);
            Put(LdmConversionScript.TextV20Prefix + "logit_scale", [4.6f], []);
        }
        else
        {
            foreach (var (name, values, shape) in text) Put(LdmConversionScript.TextPrefix + name, values, shape);
            writer.Add(LdmConversionScript.TextPrefix + "text_model.embeddings.position_ids", Enumerable.Range(0, 77).Select(i => (long)i).ToArray(), 1, 77);
        }
        writer.Add("alphas_cumprod", new float[1000], 1000);
        writer.Add("model_ema.decay", [0.9999f]);
        add?.Invoke(writer);
        writer.Save(path);
        return path;
    }
}
