using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Kernels.Attention;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Ops;

/// <summary>Every case in golden/ops run through the public ops interface of the test backend (<see cref="TestBackend"/>).</summary>
public class GoldenOpsTests : IDisposable
{
    private const double OpTol = 1e-5, ActAtol = 2e-6, ActRtol = 1e-5;
    private readonly Backend _backend = TestBackend.Create();

    protected virtual Backend Backend => _backend;

    private Tensor Load(SafetensorsFile file, string name) => file.Load(Backend, name);

    private static void Check(Tensor actual, SafetensorsFile file, string name, double atol = OpTol, double rtol = OpTol)
    {
        Assert.Equal(file.ShapeOf(name), actual.Shape.Dims.ToArray());
        Tolerance.AssertClose(actual.ToArray(), file.Floats(name), atol, rtol, name);
    }

    public static TheoryData<string> ConvCases() => new(CaseNames("conv2d.safetensors", ".x"));

    [Theory, MemberData(nameof(ConvCases))]
    public void Conv2d(string name)
    {
        var f = Golden.Open("ops", "conv2d.safetensors");
        bool prePad = name.StartsWith("pad0101");
        int stride = name.Contains("s2") ? 2 : 1;
        int pad = name.Contains("p1") ? 1 : 0;
        using var x = Load(f, name + ".x");
        using var w = Load(f, name + ".weight");
        using var b = f.Contains(name + ".bias") ? Load(f, name + ".bias") : null;
        var padding = prePad ? new Padding2d(0, 0, 1, 1) : Padding2d.Same(pad);
        using var y = Backend.Conv2d(x, w, b, stride, padding);
        Check(y, f, name + ".out");
    }

    [Fact]
    public void Conv2dWithResidualAddsIt()
    {
        var f = Golden.Open("ops", "conv2d.safetensors");
        using var x = Load(f, "k3s1p1_bias_64ch.x");
        using var w = Load(f, "k3s1p1_bias_64ch.weight");
        using var b = Load(f, "k3s1p1_bias_64ch.bias");
        using var y = Backend.Conv2d(x, w, b, 1, Padding2d.Same(1), residual: x);
        var expected = f.Floats("k3s1p1_bias_64ch.out");
        var input = f.Floats("k3s1p1_bias_64ch.x");
        for (int i = 0; i < expected.Length; i++) expected[i] += input[i];
        Tolerance.AssertClose(y.ToArray(), expected, OpTol, OpTol, "conv + residual");
    }

    public static TheoryData<string> GroupNormCases() => new(CaseNames("group_norm.safetensors", ".x"));

    [Theory, MemberData(nameof(GroupNormCases))]
    public void GroupNorm(string name)
    {
        var f = Golden.Open("ops", "group_norm.safetensors");
        int groups = name.StartsWith("gn16") ? 16 : 32;
        float eps = name.Contains("1e-6") ? 1e-6f : 1e-5f;
        using var x = Load(f, name + ".x");
        using var g = Load(f, name + ".weight");
        using var b = Load(f, name + ".bias");
        using (var y = Backend.GroupNorm(x, groups, g, b, eps)) Check(y, f, name + ".out");
        using (var y = Backend.GroupNorm(x, groups, g, b, eps, silu: true)) Check(y, f, name + ".out_silu");
    }

    public static TheoryData<string> LayerNormCases() => new(CaseNames("layer_norm.safetensors", ".x"));

    [Theory, MemberData(nameof(LayerNormCases))]
    public void LayerNorm(string name)
    {
        var f = Golden.Open("ops", "layer_norm.safetensors");
        using var x = Load(f, name + ".x");
        using var g = Load(f, name + ".weight");
        using var b = Load(f, name + ".bias");
        using var y = Backend.LayerNorm(x, g, b, 1e-5f);
        Check(y, f, name + ".out");
    }

    [Theory, InlineData("bias"), InlineData("nobias")]
    public void Linear(string name)
    {
        var f = Golden.Open("ops", "linear.safetensors");
        using var x = Load(f, name + ".x");
        using var w = Load(f, name + ".weight");
        using var b = f.Contains(name + ".bias") ? Load(f, name + ".bias") : null;
        using var y = Backend.Linear(x, w, b);
        Check(y, f, name + ".out");
    }

    public static TheoryData<string, string> AttentionCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in new[] { "attention_self.safetensors", "attention_cross.safetensors" })
            foreach (var c in CaseNames(file, ".q")) data.Add(file, c);
        return data;
    }

    [Theory, MemberData(nameof(AttentionCases))]
    public void Attention(string file, string name)
    {
        var f = Golden.Open("ops", file);
        // Goldens store heads separately, [B, H, L, D]; the op takes them packed, [B, L, H·D].
        using var q = Packed(f, name + ".q");
        using var k = Packed(f, name + ".k");
        using var v = Packed(f, name + ".v");
        int heads = f.ShapeOf(name + ".q")[1];
        using var y = Backend.Attention(q, k, v, heads);
        var expected = PackHeads(f.Floats(name + ".out"), f.ShapeOf(name + ".out"));
        Tolerance.AssertClose(y.ToArray(), expected, OpTol, OpTol, name);
    }

    private Tensor Packed(SafetensorsFile f, string name)
    {
        var s = f.ShapeOf(name);
        return Backend.FromHost(PackHeads(f.Floats(name), s), new TensorShape(s[0], s[2], s[1] * s[3]));
    }

    /// <summary>[B, H, L, D] → [B, L, H·D].</summary>
    private static float[] PackHeads(float[] x, int[] s)
    {
        int bn = s[0], h = s[1], l = s[2], d = s[3];
        var y = new float[x.Length];
        for (int b = 0; b < bn; b++)
            for (int hh = 0; hh < h; hh++)
                for (int ll = 0; ll < l; ll++)
                    for (int dd = 0; dd < d; dd++)
                        y[((b * l + ll) * h + hh) * d + dd] = x[((b * h + hh) * l + ll) * d + dd];
        return y;
    }

    [Theory]
    [InlineData("gelu_erf", Activation.GeluErf)]
    [InlineData("gelu_tanh", Activation.GeluTanh)]
    [InlineData("quick_gelu", Activation.QuickGelu)]
    [InlineData("silu", Activation.Silu)]
    [InlineData("sigmoid", Activation.Sigmoid)]
    [InlineData("tanh", Activation.Tanh)]
    [InlineData("relu", Activation.Relu)]
    public void Activations(string name, Activation activation)
    {
        var f = Golden.Open("ops", "activations.safetensors");
        using var x = Load(f, "x");
        using var y = Backend.Activate(x, activation);
        Check(y, f, name, ActAtol, ActRtol);
    }

    [Fact]
    public void ExpOfClampedInput()
    {
        // The VAE's std = exp(0.5·clamp(logvar, −30, 20)) uses exactly this pair of ops.
        var f = Golden.Open("ops", "activations.safetensors");
        using var x = Load(f, "x");
        using var clamped = Backend.Affine(x, 1f, 0f, -30f, 20f);
        using var y = Backend.Activate(clamped, Activation.Exp);
        Check(y, f, "exp_clamped", ActAtol, ActRtol);
    }

    [Fact]
    public void SoftmaxAndLogSoftmaxRows()
    {
        var f = Golden.Open("ops", "activations.safetensors");
        var x = f.Floats("softmax.x");
        var soft = (float[])x.Clone();
        var log = (float[])x.Clone();
        for (int r = 0; r < 5; r++)
        {
            AttentionManaged.Softmax(soft.AsSpan(r * 77, 77));
            AttentionManaged.LogSoftmax(log.AsSpan(r * 77, 77));
        }
        Tolerance.AssertClose(soft, f.Floats("softmax.out"), ActAtol, ActRtol, "softmax");
        Tolerance.AssertClose(log, f.Floats("log_softmax.out"), ActAtol, ActRtol, "log_softmax");
    }

    [Fact]
    public void GegluFeedForward()
    {
        var f = Golden.Open("ops", "attention_modules.safetensors");
        using var x = Load(f, "ff_geglu.x");
        using var w0 = Load(f, "ff_geglu.param.net.0.proj.weight");
        using var b0 = Load(f, "ff_geglu.param.net.0.proj.bias");
        using var w2 = Load(f, "ff_geglu.param.net.2.weight");
        using var b2 = Load(f, "ff_geglu.param.net.2.bias");
        using var proj = Backend.Linear(x, w0, b0);
        using var inner = Backend.Geglu(proj);
        Check(inner, f, "ff_geglu.inner");
        using var y = Backend.Linear(inner, w2, b2);
        Check(y, f, "ff_geglu.out");
    }

    [Theory, InlineData("attn", true), InlineData("attn_self", false)]
    public void AttentionModule(string prefix, bool cross)
    {
        var f = Golden.Open("ops", "attention_modules.safetensors");
        using var hs = Load(f, "attn.hidden_states");
        using var ctx = cross ? Load(f, "attn.encoder_hidden_states") : null;
        using var wq = Load(f, prefix + ".param.to_q.weight");
        using var wk = Load(f, prefix + ".param.to_k.weight");
        using var wv = Load(f, prefix + ".param.to_v.weight");
        using var wo = Load(f, prefix + ".param.to_out.0.weight");
        using var bo = Load(f, prefix + ".param.to_out.0.bias");
        using var q = Backend.Linear(hs, wq);
        using var k = Backend.Linear(ctx ?? hs, wk);
        using var v = Backend.Linear(ctx ?? hs, wv);
        using var a = Backend.Attention(q, k, v, heads: cross ? 4 : 2);
        using var y = Backend.Linear(a, wo, bo);
        Check(y, f, cross ? "attn.out_cross" : "attn_self.out");
    }

    [Theory]
    [InlineData("temb_d320_shift0", 320, true, 0f)]
    [InlineData("temb_d320_shift1", 320, true, 1f)]
    [InlineData("temb_d320_shift1_noflip", 320, false, 1f)]
    [InlineData("temb_d32_shift0", 32, true, 0f)]
    [InlineData("temb_d32_shift1", 32, true, 1f)]
    [InlineData("temb_d33_shift0", 33, true, 0f)]
    [InlineData("temb_d33_shift1", 33, true, 1f)]
    public void TimestepEmbedding(string name, int dim, bool flip, float shift)
    {
        var f = Golden.Open("ops", "misc.safetensors");
        using var y = Backend.TimestepEmbedding(f.Floats("temb.timesteps"), dim, flip, shift);
        Check(y, f, name, ActAtol, ActRtol);
    }

    [Theory, InlineData("upsample_nearest2x", 14, 18), InlineData("upsample_nearest_to_9x11", 9, 11)]
    public void UpsampleNearest(string name, int h, int w)
    {
        var f = Golden.Open("ops", "misc.safetensors");
        using var x = Load(f, "upsample_nearest2x.x");
        using var y = Backend.UpsampleNearest(x, h, w);
        Check(y, f, name + ".out", 0, 0);
    }

    /// <summary>
    /// diffusers' Upsample2D as one op: the convolution reading its input upsampled gives, to the bit, the
    /// convolution of the golden upsampled image (the same products in the same order; only the addresses differ).
    /// </summary>
    [Theory, InlineData(false), InlineData(true)]
    public void Conv2dOfItsInputUpsampledIsTheConvOfTheUpsampledImage(bool residual)
    {
        var ops = Golden.Open("ops", "misc.safetensors");
        var conv = Golden.Open("ops", "conv2d.safetensors");
        using var x = Load(ops, "upsample_nearest2x.x");   // [1, 8, 7, 9]
        using var upsampled = Load(ops, "upsample_nearest2x.out");
        using var w = Load(conv, "pad0101_k3s2p0_bias.weight");   // [8, 8, 3, 3]
        using var b = Load(conv, "pad0101_k3s2p0_bias.bias");
        using var expected = Backend.Conv2d(upsampled, w, b, 1, Padding2d.Same(1), residual ? upsampled : null);
        using var y = Backend.Conv2d(x, w, b, 1, Padding2d.Same(1), residual ? upsampled : null, upsample: true);
        Assert.Equal(new[] { 1, 8, 14, 18 }, y.Shape.Dims.ToArray());
        Assert.Equal(expected.ToArray(), y.ToArray());
    }

    [Fact]
    public void AvgPool()
    {
        var f = Golden.Open("ops", "misc.safetensors");
        using var x = Load(f, "avg_pool2d_k2s2.x");
        using var y = Backend.AvgPool2x2(x);
        Check(y, f, "avg_pool2d_k2s2.out");
    }

    [Fact]
    public void ResnetBlockFromOps()
    {
        var f = Golden.Open("ops", "misc.safetensors");
        Tensor P(string n) => Load(f, "resnet.param." + n);
        using var x = Load(f, "resnet.x");
        using var temb = Load(f, "resnet.temb");
        using var n1w = P("norm1.weight"); using var n1b = P("norm1.bias");
        using var c1w = P("conv1.weight"); using var c1b = P("conv1.bias");
        using var tw = P("time_emb_proj.weight"); using var tb = P("time_emb_proj.bias");
        using var n2w = P("norm2.weight"); using var n2b = P("norm2.bias");
        using var c2w = P("conv2.weight"); using var c2b = P("conv2.bias");
        using var sw = P("conv_shortcut.weight"); using var sb = P("conv_shortcut.bias");

        using var h0 = Backend.GroupNorm(x, 32, n1w, n1b, 1e-5f, silu: true);
        using var h1 = Backend.Conv2d(h0, c1w, c1b, 1, Padding2d.Same(1));
        using var t0 = Backend.Activate(temb, Activation.Silu);
        using var t1 = Backend.Linear(t0, tw, tb);
        using var h2 = Backend.AddChannelBias(h1, t1);
        using var h3 = Backend.GroupNorm(h2, 32, n2w, n2b, 1e-5f, silu: true);
        using var shortcut = Backend.Conv2d(x, sw, sb, 1, Padding2d.None);
        using var y = Backend.Conv2d(h3, c2w, c2b, 1, Padding2d.Same(1), residual: shortcut);
        Check(y, f, "resnet.out");
    }

    private static IEnumerable<string> CaseNames(string file, string suffix) =>
        Golden.Open("ops", file).Tensors.Select(t => t.Name).Where(n => n.EndsWith(suffix)).Select(n => n[..^suffix.Length]).Distinct().Order();

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
