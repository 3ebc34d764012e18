using Diffuser.IO;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models.SingleFile;

/// <summary>
/// tiny-sd's weights as one original-layout single-file checkpoint (names by <see cref="LdmConversionScript"/>, the
/// VAE attention's projections as 1×1 convolutions), with what released files also carry: LatentDiffusion's schedule
/// buffers, an EMA entry and the text encoder's position_ids.
/// </summary>
internal static class TinySingleFile
{
    public static string Folder => TestPaths.Model("tiny-sd");

    /// <summary>
    /// Writes the checkpoint to <paramref name="path"/>; <paramref name="rename"/> may rename each tensor (null: leave it
    /// out), <paramref name="add"/> add others; <paramref name="half"/> stores the weights as fp16, as most shared files are.
    /// </summary>
    public static string Write(string path, Func<string, string?>? rename = null, Action<SafetensorsWriter>? add = null, bool half = false)
    {
        var writer = new SafetensorsWriter();
        void Copy(string component, string file, string prefix, Func<string, string> convert)
        {
            using var weights = SafetensorsFile.Open(Path.Combine(Folder, component, file));
            foreach (var t in weights.Tensors)
            {
                var name = convert(t.Name);
                int[] shape = prefix == LdmConversionScript.VaePrefix && LdmConversionScript.IsVaeConvAttention(name) ? [.. t.Shape, 1, 1] : t.Shape;
                if ((rename is null ? prefix + name : rename(prefix + name)) is not { } renamed) continue;
                if (half) writer.Add(renamed, Array.ConvertAll(weights.ReadSingles(t.Name), v => (Half)v), shape);
                else writer.AddRaw(renamed, t.DType, shape, weights.GetBytes(t));
            }
        }
        Copy("unet", "diffusion_pytorch_model.safetensors", LdmConversionScript.UnetPrefix, LdmConversionScript.Unet);
        Copy("vae", "diffusion_pytorch_model.safetensors", LdmConversionScript.VaePrefix, n => LdmConversionScript.Vae(n, blocks: 2));
        Copy("text_encoder", "model.safetensors", LdmConversionScript.TextPrefix, n => n);
        writer.Add("alphas_cumprod", new float[1000], 1000);
        writer.Add("model_ema.decay", [0.9999f]);
        writer.Add(LdmConversionScript.TextPrefix + "text_model.embeddings.position_ids", Enumerable.Range(0, 77).Select(i => (long)i).ToArray(), 1, 77);
        add?.Invoke(writer);
        writer.Save(path);
        return path;
    }
}
