using Diffuser.Backends;
using Diffuser.Models.Blocks;
using Diffuser.Models.Loading;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// diffusers' UNet2DConditionModel, built entirely from its config.json: predicts the noise (or v) of a latent
/// sample at timestep t, conditioned on text embeddings through cross-attention.
/// </summary>
public sealed class UNet2DConditionModel : LoadedModel
{
    private readonly Conv2dLayer _convIn, _convOut;
    private readonly TimestepEmbedding _timeEmbedding;
    private readonly TextTimeEmbedding? _textTime;
    private readonly ResnetTimeProjections _timeProjections = new();
    private readonly UNetDownBlock[] _down;
    private readonly UNetMidBlock2DCrossAttn _mid;
    private readonly UNetUpBlock[] _up;
    private readonly GroupNormLayer _convNormOut;

    private UNet2DConditionModel(UNet2DConditionConfig config, WeightScope w, Backend backend) : base(backend)
    {
        Config = config;
        var layout = UNetLayout.Resolve(config);
        var channels = config.BlockOutChannels!;
        _convIn = new Conv2dLayer(w.Scope("conv_in"), config.InChannels, channels[0], config.ConvInKernel, padding: config.ConvInKernel / 2);
        _timeEmbedding = new TimestepEmbedding(w.Scope("time_embedding"), config.TimeProjectionDim, config.TimeEmbedDim);
        if (config.HasTextTimeEmbedding) _textTime = new TextTimeEmbedding(w, config);
        _down = layout.Down.Select(s => new UNetDownBlock(w.Scope("down_blocks").Scope(Index(s)), s, config, _timeProjections)).ToArray();
        _mid = new UNetMidBlock2DCrossAttn(w.Scope("mid_block"), layout.Mid, config, _timeProjections);
        _up = layout.Up.Select(s => new UNetUpBlock(w.Scope("up_blocks").Scope(Index(s)), s, config, _timeProjections)).ToArray();
        _timeProjections.Load(config.TimeEmbedDim);
        _convNormOut = new GroupNormLayer(w.Scope("conv_norm_out"), config.NormGroups, channels[0], config.NormEps);
        _convOut = new Conv2dLayer(w.Scope("conv_out"), channels[0], config.OutChannels, config.ConvOutKernel, padding: config.ConvOutKernel / 2);
    }

    private static int Index(UNetBlockSpec spec) => int.Parse(spec.Name[(spec.Name.LastIndexOf('.') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    public UNet2DConditionConfig Config { get; }
    /// <summary>Latent channels the UNet takes (4, or 9 for inpainting UNets: latents, mask, masked-image latents).</summary>
    public int InChannels => Config.InChannels;
    public int OutChannels => Config.OutChannels;
    /// <summary>Width of the text embeddings it cross-attends to.</summary>
    public int CrossAttentionDim => Config.CrossAttentionDim!.Values[^1];

    /// <summary>Loads <c>&lt;folder&gt;/config.json</c> and its safetensors weights, stored as <paramref name="dtype"/> (F16 and F32 files are converted as needed).</summary>
    /// <param name="folder">The component folder, e.g. <c>&lt;pipeline&gt;/unet</c>.</param>
    public static UNet2DConditionModel Load(string folder, Backend backend, DType dtype = DType.F32) =>
        LoadFolder(folder, path => UNet2DConditionConfig.Load(path).Validate(), (config, source) => FromWeights(config, source, backend, dtype));

    /// <summary>A pipeline folder's unet: <c>&lt;modelFolder&gt;/unet</c>.</summary>
    public static UNet2DConditionModel FromModelFolder(string modelFolder, Backend backend, string subfolder = "unet", DType dtype = DType.F32) =>
        Load(Path.Combine(modelFolder, subfolder), backend, dtype);

    /// <summary>Builds the model from any weight source; fails listing every missing, unexpected or mis-shaped tensor.</summary>
    /// <param name="dtype">Storage of the weights and activations: fp16 runs the whole pass in fp16 storage (fp32 accumulation).</param>
    public static UNet2DConditionModel FromWeights(UNet2DConditionConfig config, IWeightSource source, Backend backend, DType dtype = DType.F32)
    {
        config.Validate();
        return Build(source, backend, dtype, w => new UNet2DConditionModel(config, w, backend));
    }

    /// <summary>Plan mode: matches the model's tensors against a source (e.g. a weights manifest) without loading data.</summary>
    public static WeightLoadReport Plan(UNet2DConditionConfig config, IWeightSource source)
    {
        config.Validate();
        return Plan(source, (w, meta) => _ = new UNet2DConditionModel(config, w, meta));
    }

    /// <summary>One denoising evaluation.</summary>
    /// <param name="sample">(B, in_channels, H, W) latents, as the scheduler scaled them.</param>
    /// <param name="timesteps">One timestep for the whole batch, or one per batch element (may be fractional).</param>
    /// <param name="encoderHiddenStates">(B, S, cross_attention_dim) text embeddings.</param>
    /// <param name="textTime">SDXL's added conditions; required exactly when the config has addition_embed_type text_time.</param>
    /// <param name="hook">Sees intermediates by diffusers' module names (time_proj, time_embedding, conv_in,
    /// down_blocks.i, mid_block, up_blocks.i, conv_act = silu(conv_norm_out)).</param>
    /// <returns>(B, out_channels, H, W) model output (ε or v), in the model's <see cref="LoadedModel.DType"/>.</returns>
    /// <remarks>Inputs of another dtype are converted to the model's first (as diffusers' pipelines cast them).</remarks>
    public Tensor Forward(Tensor sample, ReadOnlySpan<float> timesteps, Tensor encoderHiddenStates,
        TextTimeConditions? textTime = null, ForwardHook? hook = null)
    {
        using var context = PrepareContext(encoderHiddenStates);
        return Forward(sample, timesteps, context, textTime, hook);
    }

    /// <summary>
    /// As the other overload, with the text context of a run of evaluations (<see cref="PrepareContext"/>): the
    /// cross-attention layers' k|v projections of it are computed at the first evaluation and reused by the later ones.
    /// </summary>
    public Tensor Forward(Tensor sample, ReadOnlySpan<float> timesteps, CrossAttentionContext context,
        TextTimeConditions? textTime = null, ForwardHook? hook = null)
    {
        int batch = CheckInputs(sample, timesteps, context.States, textTime);
        using var convertedSample = InModelDType(sample);
        return Run(convertedSample ?? sample, timesteps, context, textTime, hook, batch);
    }

    /// <summary>
    /// The text context for evaluations that share their encoder hidden states (every step of a generation): checked
    /// and converted to the model's dtype once; each cross-attention layer keeps its k|v projection of it after first
    /// use. Dispose it when the run ends, before the backend.
    /// </summary>
    /// <param name="encoderHiddenStates">(B, S, cross_attention_dim) text embeddings (stay the caller's).</param>
    public CrossAttentionContext PrepareContext(Tensor encoderHiddenStates)
    {
        if (encoderHiddenStates.Rank != 3 || encoderHiddenStates.Shape[2] != CrossAttentionDim)
            throw new DiffuserException($"UNet: encoder_hidden_states must be (B, S, {CrossAttentionDim}), got {encoderHiddenStates.Shape}.");
        var converted = InModelDType(encoderHiddenStates);
        return new CrossAttentionContext(converted ?? encoderHiddenStates, owned: converted is not null);
    }

    private Tensor Run(Tensor sample, ReadOnlySpan<float> timesteps, CrossAttentionContext context, TextTimeConditions? textTime, ForwardHook? hook, int batch)
    {
        var ops = Backend;

        // 1. Time: sinusoidal projection (fp32, then the model's dtype, as diffusers casts t_emb) → MLP (+ SDXL's
        // text_time term); every resnet's time_emb_proj of silu(emb), all in one product.
        var t = new float[batch];
        for (int i = 0; i < batch; i++) t[i] = timesteps[timesteps.Length == 1 ? 0 : i];
        Tensor timeProjections;
        using (var timeProj32 = ops.TimestepEmbedding(t, Config.TimeProjectionDim, Config.FlipSinToCos, Config.FreqShift))  // (B, C0)
        using (var converted = InModelDType(timeProj32))
        using (var emb = new TensorChain(converted ?? timeProj32))
        {
            var timeProj = emb.Current;
            hook?.Invoke("time_proj", timeProj);
            emb.Advance(_timeEmbedding.Forward(ops, timeProj));                 // (B, T)
            hook?.Invoke("time_embedding", emb.Current);
            if (_textTime is not null)
                using (var added = _textTime.Forward(ops, textTime!, batch))
                    emb.Advance(ops.Add(emb.Current, added));
            using var timeEmbAct = ops.Activate(emb.Current, Activation.Silu);
            timeProjections = _timeProjections.Forward(ops, timeEmbAct);      // (ΣC, B)
        }
        using var _ = timeProjections;

        // 2. Pre-process and 3. down path: every block output stays on the skip stack for the up path.
        var skips = new Stack<Tensor>();
        try
        {
            using (var centered = Config.CenterInputSample ? ops.Affine(sample, 2f, -1f) : null)
                skips.Push(_convIn.Forward(ops, centered ?? sample));          // (B, C0, H, W)
            hook?.Invoke("conv_in", skips.Peek());
            for (int i = 0; i < _down.Length; i++)
            {
                var d = _down[i].Forward(ops, skips.Peek(), timeProjections, context, skips);  // (B, C_i, H/2^i', W/2^i')
                hook?.Invoke($"down_blocks.{i}", d);
            }

            // 4. Mid block at the deepest resolution.
            using var h = new TensorChain(skips.Peek());
            h.Advance(_mid.Forward(ops, h.Current, timeProjections, context));
            hook?.Invoke("mid_block", h.Current);

            // 5. Up path: each block consumes its skips and upsamples to the next skip's size.
            for (int i = 0; i < _up.Length; i++)
            {
                h.Advance(_up[i].Forward(ops, h.Current, timeProjections, context, skips));
                hook?.Invoke($"up_blocks.{i}", h.Current);
            }

            // 6. Post-process: GroupNorm + SiLU fused, conv_out.
            h.Advance(_convNormOut.Forward(ops, h.Current, silu: true, forConvolution: true));       // (B, C0, H, W)
            hook?.Invoke("conv_act", h.Current);
            return _convOut.Forward(ops, h.Current);                           // (B, out_channels, H, W)
        }
        finally
        {
            while (skips.TryPop(out var s)) s.Dispose();
        }
    }

    /// <summary>A single timestep for the whole batch.</summary>
    public Tensor Forward(Tensor sample, float timestep, Tensor encoderHiddenStates, TextTimeConditions? textTime = null, ForwardHook? hook = null) =>
        Forward(sample, [timestep], encoderHiddenStates, textTime, hook);

    /// <summary>A single timestep for the whole batch, with a prepared text context.</summary>
    public Tensor Forward(Tensor sample, float timestep, CrossAttentionContext context, TextTimeConditions? textTime = null, ForwardHook? hook = null) =>
        Forward(sample, [timestep], context, textTime, hook);

    private int CheckInputs(Tensor sample, ReadOnlySpan<float> timesteps, Tensor context, TextTimeConditions? textTime)
    {
        if (sample.Rank != 4 || sample.Shape[1] != Config.InChannels)
            throw new DiffuserException($"UNet: sample must be (B, {Config.InChannels}, H, W), got {sample.Shape}.");
        int batch = sample.Shape[0];
        if (timesteps.Length != 1 && timesteps.Length != batch)
            throw new DiffuserException($"UNet: {timesteps.Length} timesteps for a batch of {batch} (give one, or one per sample).");
        if (context.Rank != 3 || context.Shape[0] != batch || context.Shape[2] != CrossAttentionDim)
            throw new DiffuserException($"UNet: encoder_hidden_states must be ({batch}, S, {CrossAttentionDim}), got {context.Shape}.");
        if ((textTime is null) == Config.HasTextTimeEmbedding)
            throw new DiffuserException(Config.HasTextTimeEmbedding
                ? "UNet: this model (addition_embed_type text_time) needs text_embeds and time_ids."
                : "UNet: text_time conditions were given, but the config has no addition_embed_type text_time.");
        return batch;
    }
}
