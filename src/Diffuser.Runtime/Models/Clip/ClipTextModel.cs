using Diffuser.Backends;
using Diffuser.Models.Modules;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Clip;

/// <summary>
/// transformers' <c>CLIPTextModel</c> (and <c>CLIPTextModelWithProjection</c> when the config or checkpoint has
/// <c>text_projection.weight</c>): token + position embedding, pre-norm transformer layers with causal self-attention,
/// final layer norm, pooled EOS row. Built from any <see cref="IWeightSource"/> under the transformers names; the
/// <c>text_model.embeddings.position_ids</c> buffer that older SD checkpoints carry is ignored. The SD pipelines pass
/// no attention mask (padding is hidden by the causal mask alone), so neither does this model.
/// </summary>
public sealed partial class ClipTextModel : IDisposable
{
    /// <summary>A constant buffer (0..76) saved by transformers before 4.31: not a weight.</summary>
    public const string PositionIdsBuffer = "text_model.embeddings.position_ids";

    private readonly Tensor _tokenEmbedding, _positionEmbedding;
    private readonly ClipEncoderLayer[] _layers;
    private readonly LayerNormLayer _finalNorm;
    private readonly LinearLayer? _projection;
    private readonly WeightSet _weights;

    private ClipTextModel(ClipTextConfig config, WeightLoader loader, bool withProjection)
    {
        Config = config;
        Backend = loader.Backend;
        int hidden = config.HiddenSize;
        var text = loader.Root.Scope("text_model");
        var embeddings = text.Scope("embeddings");
        _tokenEmbedding = embeddings.Get("token_embedding.weight", config.VocabSize, hidden);
        _positionEmbedding = embeddings.Get("position_embedding.weight", config.MaxPositionEmbeddings, hidden);
        var layers = text.Scope("encoder").Scope("layers");
        _layers = Enumerable.Range(0, config.NumHiddenLayers).Select(i => new ClipEncoderLayer(layers.Scope(i), config)).ToArray();
        _finalNorm = new LayerNormLayer(text.Scope("final_layer_norm"), hidden, (float)config.LayerNormEps);
        if (withProjection) _projection = new LinearLayer(loader.Root.Scope("text_projection"), hidden, config.ProjectionDim, bias: false);
        LoadReport = loader.Report();
        _weights = loader.Complete();
    }

    /// <summary>Builds the model from named tensors; fails listing every missing, unexpected or mis-shaped one.</summary>
    /// <param name="dtype">Storage of the weights on <paramref name="backend"/>; F16 files are converted on upload.</param>
    public static ClipTextModel Create(ClipTextConfig config, IWeightSource source, Backend backend, DType dtype = DType.F32)
    {
        config.Validate(source.Description);
        using var loader = new WeightLoader(source, backend, dtype, name => name == PositionIdsBuffer);
        bool withProjection = config.DeclaresProjection || loader.Root.Has("text_projection.weight");
        return new ClipTextModel(config, loader, withProjection);
    }

    public ClipTextConfig Config { get; }
    public Backend Backend { get; }
    /// <summary>How the weights matched their source (tensors consumed, parameters).</summary>
    public WeightLoadReport LoadReport { get; }
    public long ParameterCount => _weights.ParameterCount;
    /// <summary>Storage of the weights and of the hidden states the model computes.</summary>
    public DType DType => _tokenEmbedding.DType;
    public int LayerCount => _layers.Length;
    /// <summary>True for CLIPTextModelWithProjection: <see cref="ClipTextOutput.TextEmbeds"/> is set.</summary>
    public bool HasProjection => _projection is not null;

    /// <summary>
    /// transformers' forward: <paramref name="inputIds"/> holds <paramref name="batch"/> sequences of equal length
    /// (row-major [B, L], e.g. <c>ClipTokenizer.EncodeBatch</c>). With <paramref name="outputHiddenStates"/> every
    /// layer's output is kept in <see cref="ClipTextOutput.HiddenStates"/>.
    /// </summary>
    public ClipTextOutput Forward(ReadOnlySpan<int> inputIds, int batch, bool outputHiddenStates = false)
    {
        int length = CheckIds(inputIds, batch);
        var kept = outputHiddenStates ? new List<Tensor>() : null;
        Tensor? last = null, pooled = null;
        try
        {
            var h = RunEncoder(inputIds, batch, _layers.Length, kept);
            try
            {
                last = _finalNorm.Forward(Backend, h);                   // (B, L, hidden)
            }
            finally
            {
                if (kept is null) h.Dispose();
            }
            pooled = Pool(last, PoolPositions(inputIds, length));       // (B, hidden)
            var textEmbeds = _projection?.Forward(Backend, pooled);      // (B, projection_dim)
            return new ClipTextOutput(last, pooled, textEmbeds, (IReadOnlyList<Tensor>?)kept ?? []);
        }
        catch
        {
            last?.Dispose();
            pooled?.Dispose();
            if (kept is not null) foreach (var t in kept) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The prompt embeddings of diffusers' <c>encode_prompt</c> for SD 1.x/2.x, (B, L, hidden):
    /// final_layer_norm(hidden_states[−(1 + skipped)]). Only the layers that feed it are run.
    /// </summary>
    public Tensor EncodePrompt(ReadOnlySpan<int> inputIds, int batch, ClipSkip clipSkip = default)
    {
        if (clipSkip.SkippedLayers >= _layers.Length)
            throw new DiffuserException($"CLIP text model: {clipSkip} leaves none of its {_layers.Length} layers.");
        CheckIds(inputIds, batch);
        using var h = RunEncoder(inputIds, batch, _layers.Length - clipSkip.SkippedLayers, kept: null);
        return _finalNorm.Forward(Backend, h);
    }

    /// <summary>Embeddings, then the first <paramref name="layerCount"/> layers. With <paramref name="kept"/> every
    /// state (the returned one included) goes into that list, which then owns it.</summary>
    private Tensor RunEncoder(ReadOnlySpan<int> ids, int batch, int layerCount, List<Tensor>? kept)
    {
        var h = Backend.TokenEmbedding(ids, batch, _tokenEmbedding, _positionEmbedding);   // (B, L, hidden)
        kept?.Add(h);
        try
        {
            for (int i = 0; i < layerCount; i++)
            {
                var next = _layers[i].Forward(Backend, h);
                if (kept is null) h.Dispose();
                else kept.Add(next);
                h = next;
            }
            return h;
        }
        catch
        {
            if (kept is null) h.Dispose();
            throw;
        }
    }

    /// <summary>Per sequence, the row transformers pools: argmax(input_ids) (first maximum) in the legacy rule of
    /// eos_token_id 2, else the first position holding eos_token_id (0 when there is none, as torch's argmax).</summary>
    private int[] PoolPositions(ReadOnlySpan<int> ids, int length)
    {
        var positions = new int[ids.Length / length];
        for (int b = 0; b < positions.Length; b++)
        {
            var row = ids.Slice(b * length, length);
            positions[b] = Config.PoolsAtLargestId ? row.IndexOf(Max(row)) : Math.Max(row.IndexOf(Config.EosTokenId), 0);
        }
        return positions;
    }

    private static int Max(ReadOnlySpan<int> row)
    {
        int max = int.MinValue;
        foreach (int id in row) max = Math.Max(max, id);
        return max;
    }

    /// <summary>Gathers row positions[b] of each sequence b: (B, L, hidden) → (B, hidden).</summary>
    private Tensor Pool(Tensor last, int[] positions)
    {
        Tensor? pooled = null;
        try
        {
            for (int b = 0; b < positions.Length; b++)
            {
                using var sequence = last.Slice(b, 1);                                   // view (1, L, hidden)
                var row = Backend.Narrow(sequence, axis: 1, positions[b], 1);           // (1, 1, hidden)
                if (pooled is null)
                {
                    pooled = row;
                    continue;
                }
                using (row)
                {
                    var joined = Backend.Concat(pooled, row, axis: 0);
                    pooled.Dispose();
                    pooled = joined;
                }
            }
            return pooled!.Detach(new TensorShape(positions.Length, Config.HiddenSize));
        }
        catch
        {
            pooled?.Dispose();
            throw;
        }
    }

    /// <summary>Checks the batch split, the length against the position table and every id against the
    /// vocabulary; returns the sequence length.</summary>
    private int CheckIds(ReadOnlySpan<int> ids, int batch)
    {
        if (batch < 1 || ids.Length == 0 || ids.Length % batch != 0)
            throw new DiffuserException($"CLIP text model: {ids.Length} token ids do not split into {batch} sequences.");
        int length = ids.Length / batch;
        if (length > Config.MaxPositionEmbeddings)
            throw new DiffuserException($"CLIP text model: sequences of {length} tokens exceed max_position_embeddings {Config.MaxPositionEmbeddings}.");
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)Config.VocabSize)
                throw new DiffuserException(
                    $"CLIP text model: token id {ids[i]} (sequence {i / length}, position {i % length}) is outside the vocabulary of {Config.VocabSize} ids.");
        return length;
    }

    public void Dispose() => _weights.Dispose();
}
