using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Models.Blocks;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>
/// FLOPs of one pass of a pipeline component, counted by running it on a <see cref="MetaBackend"/> whose ops only
/// produce shapes: the sum of every op's FLOPs as the profiler counts them (milliseconds, no memory, any size).
/// </summary>
public static class ComponentFlops
{
    /// <summary>One UNet forward at batch <paramref name="batch"/>, latents <paramref name="height"/>×<paramref name="width"/>,
    /// <paramref name="contextLength"/> text tokens (as in <see cref="UNetOps"/>: a generation's first step, or a later one).</summary>
    public static long UNetPass(string modelFolder, UNet2DConditionConfig config, int batch, int height, int width, int contextLength,
        bool laterStep = false) =>
        UNetOps(modelFolder, config, batch, height, width, contextLength, laterStep: laterStep).Sum(r => r.Flops);

    /// <summary>
    /// Every op of one UNet forward as the profiler records it (one record per public op call), with its FLOPs and
    /// bytes: a generation's first denoising step, or with <paramref name="laterStep"/> each step after it (the text
    /// context's k|v projections then come from the <see cref="CrossAttentionContext"/>). In <paramref name="dtype"/>
    /// fp16 the pass is what a pipeline loaded in fp16 runs: fp32 latents in, fp16 context.
    /// </summary>
    public static IReadOnlyList<OpRecord> UNetOps(string modelFolder, UNet2DConditionConfig config, int batch, int height, int width,
        int contextLength, DType dtype = DType.F32, bool laterStep = false)
    {
        using var unet = new ShapesOnlyUNet(modelFolder, config, batch, height, width, contextLength, dtype);
        if (laterStep) unet.Step().Dispose();
        return unet.Pass.Record(unet.Step);
    }

    /// <summary>One VAE decode of <paramref name="batch"/> latents of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static long VaeDecode(string modelFolder, AutoencoderKLConfig config, int batch, int height, int width)
    {
        using var pass = new ShapePass(modelFolder, "vae", ComponentFolder.DiffusersWeightsName);
        using var vae = AutoencoderKL.FromWeights(config, pass.Source, pass.Meta);
        using var latents = pass.Meta.Allocate(new TensorShape(batch, config.LatentChannels, height, width));
        return pass.Count(() => vae.Decode(latents));
    }

    /// <summary>One text encoder pass over <paramref name="batch"/> prompts of the encoder's full length.</summary>
    public static long TextEncoder(string modelFolder, ClipTextConfig config, int batch)
    {
        using var pass = new ShapePass(modelFolder, "text_encoder", ComponentFolder.TransformersWeightsName);
        using var text = ClipTextModel.Create(config, pass.Source, pass.Meta);
        var ids = new int[batch * config.MaxPositionEmbeddings];
        return pass.Count(() => text.EncodePrompt(ids, batch));
    }
}
