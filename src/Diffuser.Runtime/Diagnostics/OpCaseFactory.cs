using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Diagnostics;

/// <summary>Builds <see cref="OpCase"/>s per op family: shapes, the call, FLOPs and bytes moved.</summary>
public static class OpCaseFactory
{
    private const long F = sizeof(float);

    private static TensorShape S(params int[] dims) => new(dims);

    private static OpInput In(params int[] dims) => new(S(dims));

    /// <summary>A norm's gamma: near 1, as trained models have it.</summary>
    private static OpInput Gain(int features) => new(S(features), Mean: 1f, Std: 0.1f);

    public static OpCase Gemm(string name, int batch, int m, int n, int k, bool transA = false, bool transB = false, bool sharedB = false,
        bool bias = false, Activation activation = Activation.None, float alpha = 1f, double tol = 1e-5)
    {
        var inputs = new List<OpInput> { In(batch, transA ? k : m, transA ? m : k) };
        inputs.Add(sharedB ? In(transB ? n : k, transB ? k : n) : In(batch, transB ? n : k, transB ? k : n));
        if (bias) inputs.Add(In(n));
        long bBatch = sharedB ? 1 : batch;
        return new("gemm", name, inputs,
            (be, t) => be.Gemm(t[0], t[1], transA, transB, alpha, bias ? t[2] : null, activation),
            2L * batch * m * n * k, F * ((long)batch * m * k + bBatch * n * k + (long)batch * m * n), tol, tol);
    }

    public static OpCase Conv2d(string name, int n, int c, int h, int w, int k, int r, int stride, Padding2d pad, bool bias = true,
        bool residual = false, double tol = 1e-5)
    {
        int oh = (h + pad.Top + pad.Bottom - r) / stride + 1, ow = (w + pad.Left + pad.Right - r) / stride + 1;
        var inputs = new List<OpInput> { In(n, c, h, w), new(S(k, c, r, r), Std: 1f / MathF.Sqrt(c * r * r)) };
        if (bias) inputs.Add(In(k));
        if (residual) inputs.Add(In(n, k, oh, ow));
        long output = (long)n * k * oh * ow;
        return new("conv2d", name, inputs,
            (be, t) => be.Conv2d(t[0], t[1], bias ? t[2] : null, stride, pad, residual ? t[^1] : null),
            2L * output * c * r * r, F * ((long)n * c * h * w + (long)k * c * r * r + output * (residual ? 2 : 1)), tol, tol);
    }

    public static OpCase GroupNorm(string name, int n, int c, int h, int w, int groups, bool silu, float mean = 0f)
    {
        long length = (long)n * c * h * w;
        return new("group_norm", name, [new(S(n, c, h, w), Mean: mean), Gain(c), In(c)],
            (be, t) => be.GroupNorm(t[0], groups, t[1], t[2], 1e-5f, silu), 8 * length, F * 2 * length, 1e-5, 1e-5);
    }

    public static OpCase LayerNorm(string name, int rows, int tokens, int features, float mean = 0f)
    {
        long length = (long)rows * tokens * features;
        return new("layer_norm", name, [new(S(rows, tokens, features), Mean: mean), Gain(features), In(features)],
            (be, t) => be.LayerNorm(t[0], t[1], t[2], 1e-5f), 8 * length, F * 2 * length, 1e-5, 1e-5);
    }

    public static OpCase Attention(string name, int batch, int heads, int queries, int keys, int headDim, bool causal = false, double tol = 1e-5)
    {
        int width = heads * headDim;
        long qo = (long)batch * queries * width, kv = (long)batch * keys * width;
        long visible = causal ? (long)queries * keys - (long)queries * (queries - 1) / 2 : (long)queries * keys;
        return new("attention", name, [In(batch, queries, width), In(batch, keys, width), In(batch, keys, width)],
            (be, t) => be.Attention(t[0], t[1], t[2], heads, causal: causal), 4L * batch * heads * Math.Max(visible, 0) * headDim,
            F * (2 * qo + 2 * kv), tol, tol);
    }

    /// <summary>An element-wise op over one tensor of <paramref name="shape"/> (inputs drawn with std <paramref name="std"/>).</summary>
    public static OpCase Unary(string family, string name, int[] shape, Func<Backend, Tensor, Tensor> run, double atol = 2e-6, double rtol = 1e-5, float std = 4f)
    {
        long length = S(shape).ElementCount;
        return new(family, name, [new(S(shape), Std: std)], (be, t) => run(be, t[0]), length, F * 2 * length, atol, rtol);
    }

    public static OpCase Binary(string name, int[] shape, Func<Backend, Tensor, Tensor, Tensor> run)
    {
        long length = S(shape).ElementCount;
        return new("binary", name, [In(shape), In(shape)], (be, t) => run(be, t[0], t[1]), length, F * 3 * length, 1e-6, 1e-6);
    }

    public static OpCase ChannelBias(string name, int n, int c, int h, int w, bool perSample)
    {
        long length = (long)n * c * h * w;
        return new("channel_bias", name, [In(n, c, h, w), perSample ? In(n, c) : In(c)], (be, t) => be.AddChannelBias(t[0], t[1]),
            length, F * 2 * length, 1e-6, 1e-6);
    }

    public static OpCase Concat(string name, int[] a, int[] b, int axis)
    {
        long length = S(a).ElementCount + S(b).ElementCount;
        return new("concat", name, [In(a), In(b)], (be, t) => be.Concat(t[0], t[1], axis), 0, F * 2 * length, 0, 0);
    }

    public static OpCase Narrow(string name, int[] shape, int axis, int start, int length)
    {
        long outLength = S(shape).ElementCount / shape[axis] * length;
        return new("narrow", name, [In(shape)], (be, t) => be.Narrow(t[0], axis, start, length), 0, F * 2 * outLength, 0, 0);
    }

    public static OpCase Upsample(string name, int n, int c, int h, int w, int outH, int outW) =>
        new("upsample", name, [In(n, c, h, w)], (be, t) => be.UpsampleNearest(t[0], outH, outW), 0,
            F * ((long)n * c * h * w + (long)n * c * outH * outW), 0, 0);

    public static OpCase TimestepEmbedding(string name, float[] timesteps, int dim, bool flip, float shift) =>
        new("timestep_embedding", name, [], (be, _) => be.TimestepEmbedding(timesteps, dim, flip, shift), 0,
            F * timesteps.Length * dim, 2e-6, 1e-5);

    public static OpCase TokenEmbedding(string name, int batch, int length, int vocab, int hidden)
    {
        var ids = new int[batch * length];
        for (int i = 0; i < ids.Length; i++) ids[i] = (i * 7919 + 13) % vocab;
        return new("token_embedding", name, [In(vocab, hidden), In(length, hidden)], (be, t) => be.TokenEmbedding(ids, batch, t[0], t[1]),
            (long)batch * length * hidden, F * 3 * batch * length * hidden, 1e-6, 1e-6);
    }

    public static OpCase Convert(string name, int[] shape, DType from, DType to)
    {
        long length = S(shape).ElementCount;
        return new("convert", name, [new(S(shape), from)], (be, t) => be.Convert(t[0], to), 0,
            length * (from.SizeInBytes() + to.SizeInBytes()), 0, 0);
    }
}
