using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Tensors;
using Diffuser.Text;

namespace Diffuser.Pipelines;

/// <summary>
/// diffusers' encode_prompt for SD 1.x/2.x: prompts padded to 77 tokens, CLIP hidden states (with clip skip) through
/// the final layer norm, each repeated per image. Keeps the last result, so a generation with the same prompts reuses
/// it instead of running the text encoder again.
/// </summary>
internal sealed class PromptEncoder(ClipTokenizer tokenizer, ClipTextModel textEncoder) : IDisposable
{
    private readonly record struct Key(string Prompt, string? Negative, ClipSkip ClipSkip, int Images);

    private Key? _key;
    private Tensor? _cached;

    private Backend Backend => textEncoder.Backend;

    /// <summary>
    /// The UNet's encoder_hidden_states for <paramref name="images"/> images: (B, L, D) from the prompt, or with a
    /// <paramref name="negative"/> prompt (classifier-free guidance) (2B, L, D) ordered [negative × B, prompt × B].
    /// The tensor stays this encoder's: valid until the next call or disposal.
    /// </summary>
    public Tensor Encode(string prompt, string? negative, ClipSkip clipSkip, int images)
    {
        var key = new Key(prompt, negative, clipSkip, images);
        if (_cached is not null && _key == key) return _cached;
        Release();
        string[] prompts = negative is null ? [prompt] : [negative, prompt];
        var ids = tokenizer.EncodeBatch(prompts);
        using var embeddings = textEncoder.EncodePrompt(ids, prompts.Length, clipSkip);     // (P, L, D)
        _cached = TensorRows.RepeatEach(Backend, embeddings, images);                      // (P·B, L, D)
        _key = key;
        return _cached;
    }

    private void Release()
    {
        _cached?.Dispose();
        _cached = null;
        _key = null;
    }

    public void Dispose() => Release();
}
