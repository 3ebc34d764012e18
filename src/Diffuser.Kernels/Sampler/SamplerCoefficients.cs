using System.Runtime.InteropServices;

namespace Diffuser.Kernels.Sampler;

/// <summary>
/// One output of a sampler step as a linear combination of the step's inputs:
/// <c>out = Sample·x + Model·g + History0·h0 + History1·h1 + History2·h2 + Noise·z</c>, where g is the
/// (guided) model output. Inputs the step does not have are read as 0.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct SamplerRow(float sample, float model, float history0, float history1, float history2, float noise)
{
    public readonly float Sample = sample;
    public readonly float Model = model;
    public readonly float History0 = history0;
    public readonly float History1 = history1;
    public readonly float History2 = history2;
    public readonly float Noise = noise;

    /// <summary>The row applied to one element, accumulated left to right in fp32.</summary>
    public float Apply(float x, float g, float h0, float h1, float h2, float z) =>
        Sample * x + Model * g + History0 * h0 + History1 * h1 + History2 * h2 + Noise * z;

    /// <summary>The coefficient of history slot <paramref name="slot"/> (0..2).</summary>
    public float HistoryCoefficient(int slot) => slot == 0 ? History0 : slot == 1 ? History1 : History2;
}

/// <summary>
/// The host-computed coefficients of one fused sampler step: the classifier-free guidance scale and up to
/// <see cref="MaxOutputs"/> output rows (output 0 is the next sample; the others are history the scheduler keeps).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct SamplerCoefficients(float guidanceScale, SamplerRow output0, SamplerRow output1, SamplerRow output2)
{
    public const int MaxOutputs = 3;
    public const int MaxHistory = 3;

    public readonly float GuidanceScale = guidanceScale;
    public readonly SamplerRow Output0 = output0;
    public readonly SamplerRow Output1 = output1;
    public readonly SamplerRow Output2 = output2;

    public SamplerRow Row(int output) => output == 0 ? Output0 : output == 1 ? Output1 : Output2;

    /// <summary>Classifier-free guidance as diffusers writes it: uncond + scale·(cond − uncond), in fp32.</summary>
    public float Guide(float uncond, float cond) => uncond + GuidanceScale * (cond - uncond);
}

/// <summary>
/// What a sampler step reads and writes. <see cref="Elements"/> counts the elements of one sample tensor
/// [B, ...]; a guided model output holds 2·Elements values ordered [uncond..., cond...].
/// Flags are ints so the struct can be a kernel parameter.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct SamplerStepShape(int elements, bool hasModel, bool guided, int historyCount, bool hasNoise, int outputCount)
{
    public readonly int Elements = elements;
    public readonly int HasModel = hasModel ? 1 : 0;
    public readonly int Guided = guided ? 1 : 0;
    public readonly int HistoryCount = historyCount;
    public readonly int HasNoise = hasNoise ? 1 : 0;
    public readonly int OutputCount = outputCount;
}
