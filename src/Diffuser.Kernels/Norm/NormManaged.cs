using Diffuser.Kernels.Elementwise;

namespace Diffuser.Kernels.Norm;

/// <summary>
/// Managed group and layer norm. Statistics use two passes in double (mean, then squared deviations), so inputs with
/// a large mean do not lose their variance to E[x²]−E[x]² cancellation. Variance is biased (divided by N), as torch's.
/// </summary>
public static class NormManaged
{
    public static void GroupNorm(ReadOnlyMemory<float> x, ReadOnlyMemory<float> gamma, ReadOnlyMemory<float> beta,
        Memory<float> output, GroupNormShape s)
    {
        Parallel.For(0, s.N * s.Groups, job =>
        {
            int start = job * s.GroupLength;
            var group = x.Span.Slice(start, s.GroupLength);
            var (mean, invStd) = Statistics(group, s.Epsilon);
            var outGroup = output.Span.Slice(start, s.GroupLength);
            int firstChannel = job % s.Groups * s.ChannelsPerGroup;
            for (int cg = 0; cg < s.ChannelsPerGroup; cg++)
            {
                float scale = invStd * gamma.Span[firstChannel + cg];
                float shift = beta.Span[firstChannel + cg] - mean * scale;
                for (int i = cg * s.Spatial; i < (cg + 1) * s.Spatial; i++)
                {
                    float v = group[i] * scale + shift;
                    outGroup[i] = s.FuseSilu != 0 ? ActivationMath.Silu(v) : v;
                }
            }
        });
    }

    public static void LayerNorm(ReadOnlyMemory<float> x, ReadOnlyMemory<float> gamma, ReadOnlyMemory<float> beta,
        Memory<float> output, LayerNormShape s)
    {
        Parallel.For(0, s.Rows, row =>
        {
            var xr = x.Span.Slice(row * s.Features, s.Features);
            var (mean, invStd) = Statistics(xr, s.Epsilon);
            var outRow = output.Span.Slice(row * s.Features, s.Features);
            var g = gamma.Span;
            var b = beta.Span;
            for (int i = 0; i < s.Features; i++)
                outRow[i] = (xr[i] - mean) * invStd * g[i] + b[i];
        });
    }

    /// <summary>Mean and 1/sqrt(variance + eps) of the values, computed in two passes in double.</summary>
    public static (float Mean, float InvStd) Statistics(ReadOnlySpan<float> values, float epsilon)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        double mean = sum / values.Length;
        double squares = 0;
        foreach (float v in values)
        {
            double d = v - mean;
            squares += d * d;
        }
        double variance = squares / values.Length;
        return ((float)mean, (float)(1.0 / Math.Sqrt(variance + epsilon)));
    }
}
