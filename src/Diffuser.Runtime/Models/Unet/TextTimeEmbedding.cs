using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Unet;

/// <summary>
/// SDXL's extra conditioning (<c>addition_embed_type: text_time</c>) for one batch: the pooled text embedding and
/// six numbers per sample (original size, crop top-left, target size).
/// </summary>
/// <param name="TextEmbeds">(B, pooled text width)</param>
/// <param name="TimeIds">B·6 values, row-major (B, 6)</param>
public sealed record TextTimeConditions(Tensor TextEmbeds, float[] TimeIds);

/// <summary>
/// diffusers' text_time augmentation: add_embedding([text_embeds | sinusoid(time_ids)]), added to the time embedding.
/// </summary>
public sealed class TextTimeEmbedding
{
    private readonly TimestepEmbedding _addEmbedding;
    private readonly int _timeDim;
    private readonly bool _flipSinToCos;
    private readonly float _freqShift;

    public TextTimeEmbedding(WeightScope w, UNet2DConditionConfig config)
    {
        _timeDim = config.AdditionTimeEmbedDim!.Value;
        _flipSinToCos = config.FlipSinToCos;
        _freqShift = config.FreqShift;
        _addEmbedding = new TimestepEmbedding(w.Scope("add_embedding"), config.ProjectionClassEmbeddingsInputDim!.Value, config.TimeEmbedDim);
    }

    /// <returns>(B, time_embed_dim), to be added to the time embedding.</returns>
    public Tensor Forward(Backend ops, TextTimeConditions conditions, int batch)
    {
        var text = conditions.TextEmbeds;
        if (text.Rank != 2 || text.Shape[0] != batch || conditions.TimeIds.Length % batch != 0)
            throw new DiffuserException($"UNet text_time conditioning: text_embeds {text.Shape} and {conditions.TimeIds.Length} time ids do not match batch {batch}.");
        var dtype = _addEmbedding.DType;
        using var timeProj32 = ops.TimestepEmbedding(conditions.TimeIds, _timeDim, _flipSinToCos, _freqShift);  // (B·6, d), fp32
        using var timeProj = timeProj32.DType == dtype ? null : ops.Convert(timeProj32, dtype);
        using var timeRows = (timeProj ?? timeProj32).Reshape(batch, -1);                                    // (B, 6·d)
        using var textRows = text.DType == dtype ? null : ops.Convert(text, dtype);
        using var joined = ops.Concat(textRows ?? text, timeRows, axis: 1);                                  // (B, text + 6·d)
        return _addEmbedding.Forward(ops, joined);
    }
}
