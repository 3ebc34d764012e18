using Diffuser.Tensors;

namespace Diffuser.Models.Clip;

/// <summary>What <see cref="ClipTextModel.Forward"/> returns (transformers' CLIPTextModel output); owns its tensors.</summary>
public sealed class ClipTextOutput : IDisposable
{
    internal ClipTextOutput(Tensor lastHiddenState, Tensor pooledOutput, Tensor? textEmbeds, IReadOnlyList<Tensor> hiddenStates)
    {
        LastHiddenState = lastHiddenState;
        PooledOutput = pooledOutput;
        TextEmbeds = textEmbeds;
        HiddenStates = hiddenStates;
    }

    /// <summary>final_layer_norm(output of the last layer), (B, L, hidden): SD 1.x/2.x prompt embeddings.</summary>
    public Tensor LastHiddenState { get; }

    /// <summary>(B, hidden): <see cref="LastHiddenState"/> at each sequence's EOS position.</summary>
    public Tensor PooledOutput { get; }

    /// <summary>(B, projection_dim): text_projection(pooled) for CLIPTextModelWithProjection (SDXL's
    /// text_encoder_2), else null.</summary>
    public Tensor? TextEmbeds { get; }

    /// <summary>Empty unless asked for: [0] = embeddings, [i] = output of layer i (before the final layer norm),
    /// each (B, L, hidden). SDXL takes [^2] of both encoders as its prompt embeddings.</summary>
    public IReadOnlyList<Tensor> HiddenStates { get; }

    public void Dispose()
    {
        LastHiddenState.Dispose();
        PooledOutput.Dispose();
        TextEmbeds?.Dispose();
        foreach (var h in HiddenStates) h.Dispose();
    }
}
