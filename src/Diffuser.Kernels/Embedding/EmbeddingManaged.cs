namespace Diffuser.Kernels.Embedding;

/// <summary>Managed sinusoidal timestep embedding and token + position embedding.</summary>
public static class EmbeddingManaged
{
    /// <summary>
    /// diffusers' get_timestep_embedding: half = dim/2, freq_i = exp(−ln(maxPeriod)·i / (half − shift)),
    /// emb = [sin(t·freq), cos(t·freq)] (swapped to [cos, sin] when flipSinToCos), an odd dim gets a zero last column.
    /// The frequencies and angles are formed in fp32 with torch's own exp (<see cref="TorchExp"/>); sin and cos are
    /// evaluated in double and rounded.
    /// </summary>
    public static void Timestep(ReadOnlySpan<float> timesteps, Span<float> output, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale = 1f, int maxPeriod = 10000)
    {
        int half = dim / 2;
        for (int b = 0; b < timesteps.Length; b++)
        {
            var row = output.Slice(b * dim, dim);
            row.Clear();
            for (int i = 0; i < half; i++)
            {
                float angle = scale * (timesteps[b] * Frequency(i, half, downscaleFreqShift, maxPeriod));
                float sin = (float)Math.Sin(angle), cos = (float)Math.Cos(angle);
                row[i] = flipSinToCos ? cos : sin;
                row[half + i] = flipSinToCos ? sin : cos;
            }
        }
    }

    /// <summary>Frequency i of the embedding: exp(−ln(maxPeriod)·i / (half − shift)), in torch's fp32 order of operations.</summary>
    public static float Frequency(int i, int half, float downscaleFreqShift, int maxPeriod)
    {
        float exponent = -(float)Math.Log(maxPeriod) * i / (half - downscaleFreqShift);
        return TorchExp.Exp(exponent);
    }

    /// <summary>y[b, l] = tokens[ids[b, l]] + positions[l] (positions optional), rows of width <paramref name="hidden"/>.</summary>
    public static void Token(ReadOnlySpan<int> ids, ReadOnlySpan<float> tokens, ReadOnlySpan<float> positions,
        Span<float> output, int sequenceLength, int hidden)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            var row = output.Slice(i * hidden, hidden);
            tokens.Slice(ids[i] * hidden, hidden).CopyTo(row);
            if (positions.IsEmpty) continue;
            var pos = positions.Slice(i % sequenceLength * hidden, hidden);
            for (int j = 0; j < hidden; j++) row[j] += pos[j];
        }
    }
}
