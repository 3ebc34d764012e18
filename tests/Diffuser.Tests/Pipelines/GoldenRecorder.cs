using Diffuser.Pipelines;
using Diffuser.Tensors;

namespace Diffuser.Tests.Pipelines;

/// <summary>Copies what a generation shows its observer to the host, for comparison with a golden run.</summary>
internal sealed class GoldenRecorder : IGenerationObserver
{
    public float[]? EncoderHiddenStates { get; private set; }
    public List<float[]> ModelInputs { get; } = [];
    public List<float[]> ModelOutputs { get; } = [];
    public List<float[]> Latents { get; } = [];
    public List<float> Timesteps { get; } = [];
    /// <summary>The decoded [0, 1] images of every batch, (B, H, W, 3) like diffusers' output_type "np".</summary>
    public List<float> ImagesNhwc { get; } = [];

    public void PromptEncoded(Tensor encoderHiddenStates) => EncoderHiddenStates = encoderHiddenStates.ToArray();

    public void StepCompleted(int batch, DenoisingStep step)
    {
        ModelInputs.Add(step.ModelInput.ToArray());
        ModelOutputs.Add(step.ModelOutput.ToArray());
        Latents.Add(step.Latents.ToArray());
        Timesteps.Add(step.Timestep);
    }

    public void ImagesDecoded(int batch, Tensor images)
    {
        var values = images.ToArray();
        int b = images.Shape[0], c = images.Shape[1], plane = images.Shape[2] * images.Shape[3];
        for (int n = 0; n < b; n++)
            for (int p = 0; p < plane; p++)
                for (int ch = 0; ch < c; ch++)
                    ImagesNhwc.Add(values[(n * c + ch) * plane + p]);
    }
}
