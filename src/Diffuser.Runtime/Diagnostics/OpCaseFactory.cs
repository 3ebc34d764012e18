using Diffuser.Backends;
using Diffuser.Kernels.Attention;
using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Gemm;
using Diffuser.Kernels.Norm;
using Diffuser.Tensors;

namespace Diffuser.Diagnostics;

/// <summary>
/// Builds <see cref="OpCase"/>s per op family: shapes, the call, FLOPs (from the kernels' shape structs, as the
/// backend's profiler counts them), bytes moved and the op's parameters.
/// </summary>
public static class OpCaseFactory
{
    private const long F = sizeof(float);

    private static TensorShape S(params int[] dims) => new(dims);

    private static OpInput In(params int[] dims) => new(S(dims));

    /// <summary>A norm's gamma: near 1, as trained models have it.</summary>
    private static OpInput Gain(int features) => new(S(features), Mean: 1f, Std: 0.1f);

    private static Dictionary<string, object> A(params (string Key, object Value)[] args) => args.ToDictionary(a => a.Key, a => a.Value);

    private static string Lower(Activation a) => a.ToString().ToLowerInvariant();

    /// <param name="sharedA">A is one [M, K] matrix for the whole batch (a 1×1 convolution's weight, W·Xᵀ).</param>
    /// <param name="biasPerRow">The bias has M entries, one per row.</param>
    public static OpCase Gemm(string name, int batch, int m, int n, int k, bool transA = false, bool transB = false, bool sharedB = false,
        bool bias = false, Activation activation = Activation.None, float alpha = 1f, double tol = 1e-5, bool residual = false,
        bool sharedA = false, bool biasPerRow = false)
    {
        var inputs = new List<OpInput> { sharedA ? In(transA ? k : m, transA ? m : k) : In(batch, transA ? k : m, transA ? m : k) };
        inputs.Add(sharedB ? In(transB ? n : k, transB ? k : n) : In(batch, transB ? n : k, transB ? k : n));
        if (bias) inputs.Add(In(biasPerRow ? m : n));
        if (residual) inputs.Add(In(batch, m, n));
        long aBatch = sharedA ? 1 : batch, bBatch = sharedB ? 1 : batch;
        var shape = new GemmShape(batch, m, n, k, transA ? 1 : 0, transB ? 1 : 0, 0, 0, alpha, bias ? 1 : 0, activation.ToKind());
        return new("gemm", name, inputs,
            (be, t) => be.Gemm(t[0], t[1], transA, transB, alpha, bias ? t[2] : null, activation, residual ? t[^1] : null, biasPerRow),
            shape.Flops, F * (aBatch * m * k + bBatch * n * k + (long)batch * m * n * (residual ? 2 : 1)), tol, tol,
            A(("trans_a", transA), ("trans_b", transB), ("alpha", alpha), ("bias", bias), ("activation", Lower(activation)), ("residual", residual),
                ("bias_per_row", biasPerRow)));
    }

    /// <summary>GEGLU fused into its projection: x [rows, in] · weightᵀ [in, 2·out] + bias → value · gelu(gate) [rows, out].</summary>
    public static OpCase GegluLinear(string name, int rows, int inFeatures, int outFeatures, double tol = 1e-5)
    {
        var shape = new GemmShape(1, rows, outFeatures, inFeatures, 0, 1, 0, 0, 1f, 1, Kernels.Elementwise.ActivationKind.None) { Geglu = 1 };
        return new("geglu_linear", name, [In(rows, inFeatures), new(S(2 * outFeatures, inFeatures), Std: 1f / MathF.Sqrt(inFeatures)), In(2 * outFeatures)],
            (be, t) => be.GegluLinear(t[0], t[1], t[2]), shape.Flops,
            F * ((long)rows * inFeatures + 2L * outFeatures * inFeatures + (long)rows * outFeatures), tol, tol, A());
    }

    /// <param name="upsample">The convolution reads x [n, c, h, w] upsampled 2× (diffusers' Upsample2D as one op).</param>
    public static OpCase Conv2d(string name, int n, int c, int h, int w, int k, int r, int stride, Padding2d pad, bool bias = true,
        bool residual = false, double tol = 1e-5, bool sampleBias = false, bool upsample = false)
    {
        int factor = upsample ? 2 : 1;
        var shape = Conv2dShape.Create(n, c, h * factor, w * factor, k, r, r, stride, pad.Top, pad.Left, pad.Bottom, pad.Right, bias, residual);
        var inputs = new List<OpInput> { In(n, c, h, w), new(S(k, c, r, r), Std: 1f / MathF.Sqrt(c * r * r), Filter: true) };
        if (bias) inputs.Add(In(k));
        if (sampleBias) inputs.Add(In(k, n));
        if (residual) inputs.Add(In(n, k, shape.OH, shape.OW));
        return new("conv2d", name, inputs,
            (be, t) => be.Conv2d(t[0], t[1], bias ? t[2] : null, stride, pad, residual ? t[^1] : null, sampleBias ? t[bias ? 3 : 2] : null, upsample),
            shape.Flops, F * ((long)n * c * h * w + (long)k * c * r * r + shape.OutputLength * (residual ? 2 : 1) + (sampleBias ? (long)n * k : 0)), tol, tol,
            A(("stride", stride), ("padding", new[] { pad.Top, pad.Left, pad.Bottom, pad.Right }), ("bias", bias), ("residual", residual),
                ("sample_bias", sampleBias), ("upsample", upsample)));
    }

    public static OpCase GroupNorm(string name, int n, int c, int h, int w, int groups, bool silu, float mean = 0f)
    {
        var shape = new GroupNormShape(n, c, h * w, groups, 1e-5f, silu ? 1 : 0);
        return new("group_norm", name, [new(S(n, c, h, w), Mean: mean), Gain(c), In(c)],
            (be, t) => be.GroupNorm(t[0], groups, t[1], t[2], 1e-5f, silu), shape.Flops, F * 2 * n * c * h * w, 1e-5, 1e-5,
            A(("groups", groups), ("silu", silu), ("eps", 1e-5)));
    }

    /// <summary>
    /// A resnet's group norm + SiLU and the 3×3 convolution (padding 1, bias) that alone reads its result, which the norm
    /// stores as that convolution reads it fastest (<see cref="Backend.GroupNorm"/>'s forConvolution).
    /// </summary>
    public static OpCase GroupNormConv2d(string name, int n, int c, int h, int w, int groups, int k, double tol = 1e-5)
    {
        var norm = new GroupNormShape(n, c, h * w, groups, 1e-5f, 1);
        var conv = Conv2dShape.Create(n, c, h, w, k, 3, 3, 1, 1, 1, 1, 1, bias: true, residual: false);
        return new("group_norm_conv2d", name, [In(n, c, h, w), Gain(c), In(c), new(S(k, c, 3, 3), Std: 1f / MathF.Sqrt(c * 9), Filter: true), In(k)],
            (be, t) =>
            {
                using var normed = be.GroupNorm(t[0], groups, t[1], t[2], 1e-5f, silu: true, forConvolution: true);
                return be.Conv2d(normed, t[3], t[4], 1, Padding2d.Same(1));
            },
            norm.Flops + conv.Flops, F * ((long)n * c * h * w + 9L * k * c + conv.OutputLength), tol, tol, A(("groups", groups), ("eps", 1e-5)));
    }

    public static OpCase LayerNorm(string name, int rows, int tokens, int features, float mean = 0f)
    {
        var shape = new LayerNormShape(rows * tokens, features, 1e-5f);
        return new("layer_norm", name, [new(S(rows, tokens, features), Mean: mean), Gain(features), In(features)],
            (be, t) => be.LayerNorm(t[0], t[1], t[2], 1e-5f), shape.Flops, F * 2 * rows * tokens * features, 1e-5, 1e-5, A(("eps", 1e-5)));
    }

    public static OpCase Attention(string name, int batch, int heads, int queries, int keys, int headDim, bool causal = false, double tol = 1e-5)
    {
        int width = heads * headDim;
        long qo = (long)batch * queries * width, kv = (long)batch * keys * width;
        var shape = new AttentionShape(batch, heads, queries, keys, headDim, 1f / MathF.Sqrt(headDim), causal ? 1 : 0);
        return new("attention", name, [In(batch, queries, width), In(batch, keys, width), In(batch, keys, width)],
            (be, t) => be.Attention(t[0], t[1], t[2], heads, causal: causal), shape.Flops, F * (2 * qo + 2 * kv), tol, tol,
            A(("heads", heads), ("causal", causal), ("packing", "none")));
    }

    /// <summary>Self-attention on a fused q|k|v projection [B, L, 3·H·D].</summary>
    public static OpCase SelfAttention(string name, int batch, int heads, int length, int headDim, double tol = 1e-5)
    {
        int width = heads * headDim;
        var shape = new AttentionShape(batch, heads, length, length, headDim, 1f / MathF.Sqrt(headDim), 0);
        return new("attention", name, [In(batch, length, 3 * width)], (be, t) => be.SelfAttention(t[0], heads), shape.Flops,
            F * 4L * batch * length * width, tol, tol, A(("heads", heads), ("causal", false), ("packing", "qkv")));
    }

    /// <summary>Cross-attention with k and v from one fused projection [B, S, 2·H·D].</summary>
    public static OpCase CrossAttention(string name, int batch, int heads, int queries, int keys, int headDim, double tol = 1e-5)
    {
        int width = heads * headDim;
        var shape = new AttentionShape(batch, heads, queries, keys, headDim, 1f / MathF.Sqrt(headDim), 0);
        return new("attention", name, [In(batch, queries, width), In(batch, keys, 2 * width)], (be, t) => be.CrossAttention(t[0], t[1], heads),
            shape.Flops, F * (2L * batch * queries * width + 2L * batch * keys * width), tol, tol, A(("heads", heads), ("causal", false), ("packing", "kv")));
    }

    /// <summary>An element-wise op over one tensor of <paramref name="shape"/> (inputs drawn with std <paramref name="std"/>).</summary>
    public static OpCase Unary(string family, string name, int[] shape, Func<Backend, Tensor, Tensor> run, double atol = 2e-6, double rtol = 1e-5,
        float std = 4f, Dictionary<string, object>? args = null)
    {
        long length = S(shape).ElementCount;
        return new(family, name, [new(S(shape), Std: std)], (be, t) => run(be, t[0]), length, F * 2 * length, atol, rtol, args ?? A());
    }

    /// <summary>Activation <paramref name="activation"/> over a tensor of <paramref name="shape"/>.</summary>
    public static OpCase Activate(string name, int[] shape, Activation activation) =>
        Unary("activation", name, shape, (b, x) => b.Activate(x, activation), args: A(("activation", Lower(activation))));

    public static OpCase Binary(string name, int[] shape, string op, Func<Backend, Tensor, Tensor, Tensor> run)
    {
        long length = S(shape).ElementCount;
        return new("binary", name, [In(shape), In(shape)], (be, t) => run(be, t[0], t[1]), length, F * 3 * length, 1e-6, 1e-6, A(("op", op)));
    }

    public static OpCase ChannelBias(string name, int n, int c, int h, int w, bool perSample)
    {
        long length = (long)n * c * h * w;
        return new("channel_bias", name, [In(n, c, h, w), perSample ? In(n, c) : In(c)], (be, t) => be.AddChannelBias(t[0], t[1]),
            length, F * 2 * length, 1e-6, 1e-6, A(("per_sample", perSample)));
    }

    /// <summary>
    /// Softmax over the last dimension; with <paramref name="output"/> the probabilities in that dtype (fp16 from fp32
    /// scores, as composed attention makes them: each backend rounds once, so they may differ by one fp16 step),
    /// otherwise in the input's ("output": "input").
    /// </summary>
    public static OpCase Softmax(string name, int[] shape, DType? output = null)
    {
        long length = S(shape).ElementCount;
        double rtol = output == DType.F16 ? 2e-3 : 1e-5;
        return new("softmax", name, [new(S(shape), Std: 3f)], (be, t) => be.Softmax(t[0], output), 4 * length,
            length * (F + (output ?? DType.F32).SizeInBytes()), 1e-6, rtol, A(("output", output?.ToString().ToLowerInvariant() ?? "input")));
    }

    public static OpCase Concat(string name, int[] a, int[] b, int axis)
    {
        long length = S(a).ElementCount + S(b).ElementCount;
        return new("concat", name, [In(a), In(b)], (be, t) => be.Concat(t[0], t[1], axis), 0, F * 2 * length, 0, 0, A(("axis", axis)));
    }

    public static OpCase Narrow(string name, int[] shape, int axis, int start, int length)
    {
        long outLength = S(shape).ElementCount / shape[axis] * length;
        return new("narrow", name, [In(shape)], (be, t) => be.Narrow(t[0], axis, start, length), 0, F * 2 * outLength, 0, 0,
            A(("axis", axis), ("start", start), ("length", length)));
    }

    public static OpCase Upsample(string name, int n, int c, int h, int w, int outH, int outW) =>
        new("upsample", name, [In(n, c, h, w)], (be, t) => be.UpsampleNearest(t[0], outH, outW), 0,
            F * ((long)n * c * h * w + (long)n * c * outH * outW), 0, 0, A(("out_h", outH), ("out_w", outW)));

    public static OpCase TimestepEmbedding(string name, float[] timesteps, int dim, bool flip, float shift) =>
        new("timestep_embedding", name, [], (be, _) => be.TimestepEmbedding(timesteps, dim, flip, shift), 0,
            F * timesteps.Length * dim, 2e-6, 1e-5, A(("timesteps", timesteps), ("dim", dim), ("flip_sin_to_cos", flip), ("shift", shift)));

    public static OpCase TokenEmbedding(string name, int batch, int length, int vocab, int hidden)
    {
        var ids = new int[batch * length];
        for (int i = 0; i < ids.Length; i++) ids[i] = (i * 7919 + 13) % vocab;
        return new("token_embedding", name, [In(vocab, hidden), In(length, hidden)], (be, t) => be.TokenEmbedding(ids, batch, t[0], t[1]),
            (long)batch * length * hidden, F * 3 * batch * length * hidden, 1e-6, 1e-6, A(("ids", ids), ("batch", batch)));
    }

    /// <summary>
    /// The case with fp16 inputs and result (the "_f16" variant): both backends round each result to fp16 once, so
    /// they may differ by one fp16 step (2⁻¹⁰ relative) where fp32 noise falls on a rounding boundary. Attention on the
    /// tensor cores also multiplies the probabilities in fp16 (as FlashAttention does; the reference keeps them fp32):
    /// each is off by up to 2⁻¹¹ of itself, an output by up to 2⁻¹¹·max|v| (≈ 2e-3 for N(0, 1) inputs), typically far less.
    /// </summary>
    public static OpCase Half(OpCase c) => c with
    {
        Name = c.Name + "_f16",
        Inputs = [.. c.Inputs.Select(i => i with { DType = DType.F16 })],
        Bytes = c.Bytes / 2,
        Atol = Math.Max(c.Atol, c.Family == "attention" ? 1e-3 : 1e-4),
        Rtol = Math.Max(c.Rtol, 2e-3),
    };

    public static OpCase Convert(string name, int[] shape, DType from, DType to)
    {
        long length = S(shape).ElementCount;
        return new("convert", name, [new(S(shape), from)], (be, t) => be.Convert(t[0], to), 0,
            length * (from.SizeInBytes() + to.SizeInBytes()), 0, 0, A(("to", to.ToString().ToLowerInvariant())));
    }
}
