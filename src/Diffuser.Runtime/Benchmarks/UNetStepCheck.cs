using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>
/// One UNet step of a model folder's exact shapes on a device against the managed cpu backend's, in the same dtype,
/// from the same synthetic weights and inputs: every kernel of the step in its place (the norms' channel-blocked images
/// for the convolutions after them, the time embedding's first-rows products, the resnets' joined time projections,
/// the skip connections, the text's k|v projections), at the size the benchmark times it.
/// </summary>
public static class UNetStepCheck
{
    private const float Timestep = 500f;

    /// <summary>
    /// The step at <paramref name="imageSize"/> pixels (null: the model's own), limits as <see cref="OpCaseChecks"/>'
    /// (both sides round every op's result to the dtype; they differ in summation order and, on the tensor cores, in
    /// attention's fp16 probabilities: measured here, an fp16 SD 1.5 step against an fp32 one of the same random weights
    /// is off by 1.5e-3 of its largest value, a sixth of the fp16 limit).
    /// </summary>
    public static OpCaseCheckReport Run(string modelFolder, Backend device, DType dtype, int batch, int? imageSize, Action<string>? progress = null)
    {
        if (batch < 1) throw new DiffuserException($"--batch must be ≥ 1, got {batch}.");
        var config = UNet2DConditionConfig.Load(SyntheticPipeline.ConfigOf(modelFolder, "unet")).Validate();
        int scale = AutoencoderKLConfig.Load(SyntheticPipeline.ConfigOf(modelFolder, "vae")).ScaleFactor;
        int size = imageSize ?? (config.DefaultLatentSize?.Height ?? 64) * scale;
        if (size < scale || size % scale != 0) throw new DiffuserException($"--size {size} must be a positive multiple of the VAE factor {scale}.");
        int latentSize = size / scale;
        int tokens = ClipTextConfig.Load(SyntheticPipeline.ConfigOf(modelFolder, "text_encoder")).MaxPositionEmbeddings;
        using var reference = new CpuBackend();
        var sampleShape = new TensorShape(batch, config.InChannels, latentSize, latentSize);
        var statesShape = new TensorShape(batch, tokens, config.CrossAttentionDim!.Values[^1]);
        float[] sample = Noise(reference, sampleShape, 1), states = Noise(reference, statesShape, 2);

        float[] Step(Backend backend)
        {
            progress?.Invoke($"one UNet step on {backend.Name} ({backend.Device.Name})");
            using var weights = new SyntheticWeightSource(SyntheticPipeline.ShapesOf(modelFolder, "unet", ComponentFolder.DiffusersWeightsName), seed: 2);
            using var unet = UNet2DConditionModel.FromWeights(config, weights, backend, dtype);
            using var x = backend.FromHost(sample, sampleShape);
            using var text = backend.FromHost(states, statesShape, dtype);
            using var context = unet.PrepareContext(text);
            using var noise = unet.Forward(x, Timestep, context);
            return noise.ToArray();
        }

        string id = $"unet_step/{Path.GetFileName(Path.TrimEndingDirectorySeparator(modelFolder))}_b{batch}_{latentSize}x{latentSize}_{dtype.ToString().ToLowerInvariant()}";
        var check = OpCaseChecks.Compare(id, Step(device), Step(reference), dtype == DType.F16 ? OpCaseChecks.HalfLimit : OpCaseChecks.SingleLimit);
        return new OpCaseCheckReport(device.Name, device.Device.Name, "unet_step", [check], []);
    }

    private static float[] Noise(Backend backend, TensorShape shape, ulong seed)
    {
        using var noise = backend.NormalNoise(shape, seed, 0);
        return noise.ToArray();
    }
}
