using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>
/// Sees a generation's tensors as they are made (previews, debugging, golden tests). Every tensor is the pipeline's
/// and valid only during the call: copy what you keep. Each method does nothing unless overridden.
/// </summary>
public interface IGenerationObserver
{
    /// <summary>The UNet's encoder_hidden_states: (B, L, D), or (2B, L, D) ordered [negative × B, prompt × B] under guidance.</summary>
    void PromptEncoded(Tensor encoderHiddenStates) { }

    /// <summary>The latents the loop starts from (scaled by the scheduler's init noise sigma or noised from the image).</summary>
    void LatentsPrepared(int batch, Tensor latents) { }

    /// <summary>After each step of a batch.</summary>
    void StepCompleted(int batch, DenoisingStep step) { }

    /// <summary>The decoded images of a batch, (B, 3, H, W) in [0, 1] (diffusers' output_type "np" before the layout change).</summary>
    void ImagesDecoded(int batch, Tensor images) { }
}

/// <param name="Index">Model call within the batch, from 0.</param>
/// <param name="Timestep">The timestep given to the UNet.</param>
/// <param name="ModelInput">The UNet's input: scaled latents, doubled under guidance, with the inpainting channels for 9-channel UNets.</param>
/// <param name="ModelOutput">The UNet's output, (2B, C, h, w) ordered [uncond, cond] under guidance.</param>
/// <param name="Latents">The latents after the scheduler step (and inpainting's blend).</param>
public sealed record DenoisingStep(int Index, float Timestep, Tensor ModelInput, Tensor ModelOutput, Tensor Latents);
