using System.Globalization;
using System.Text.RegularExpressions;
using Diffuser.IO;
using Diffuser.Schedulers;
using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>
/// The safetensors files a generation can replay from or save to: starting latents (<c>init_latents</c>), recorded
/// noise draws (<c>noise.00</c>, <c>noise.01</c>, …, as the goldens store torch's draws) and final latents.
/// </summary>
public static partial class LatentFiles
{
    public const string InitLatentsTensor = "init_latents";
    public const string FinalLatentsTensor = "final_latents";

    /// <summary>
    /// The starting latents in <paramref name="path"/>: tensor <c>init_latents</c>, or the file's only tensor, which
    /// must have <paramref name="shape"/>.
    /// </summary>
    public static float[] ReadInitLatents(string path, TensorShape shape)
    {
        using var file = SafetensorsFile.Open(path);
        string name = file.Contains(InitLatentsTensor) ? InitLatentsTensor
            : file.Tensors.Count == 1 ? file.Tensors[0].Name
            : throw new DiffuserException($"{path}: no tensor '{InitLatentsTensor}', and {file.Tensors.Count} tensors to choose from.");
        var actual = new TensorShape(file.GetInfo(name).Shape);
        if (!actual.Equals(shape))
            throw new DiffuserException($"{path}: initial latents '{name}' are {actual}; this request needs {shape} (batch, latent channels, height / VAE factor, width / VAE factor).");
        return file.ReadSingles(name);
    }

    /// <summary>The recorded draws <c>noise.NN</c> of <paramref name="path"/>, draw NN replayed as draw number NN.</summary>
    public static RecordedNoiseSource ReadNoise(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var draws = new Dictionary<long, float[]>();
        foreach (var tensor in file.Tensors)
        {
            var match = NoiseName().Match(tensor.Name);
            if (match.Success) draws[long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)] = file.ReadSingles(tensor.Name);
        }
        if (draws.Count == 0) throw new DiffuserException($"{path}: no recorded noise (tensors named noise.00, noise.01, …).");
        return new RecordedNoiseSource(draws);
    }

    /// <summary>Writes <paramref name="latents"/> as tensor <c>final_latents</c> (atomically: a failed write leaves no file).</summary>
    public static void SaveFinalLatents(string path, LatentBatch latents) =>
        new SafetensorsWriter().AddMetadata("format", "pt").Add(FinalLatentsTensor, latents.Values, latents.Shape).Save(path);

    [GeneratedRegex(@"^noise\.(\d+)$")]
    private static partial Regex NoiseName();
}
