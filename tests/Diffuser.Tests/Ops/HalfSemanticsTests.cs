using Diffuser.Backends.Cpu;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Tests.Ops;

/// <summary>
/// The fp16 semantics every backend shares, on the cpu backend that defines them: an fp16 op is its fp32 op on the
/// widened inputs, rounded once to fp16 (round to nearest even); and one op never mixes dtypes.
/// </summary>
public sealed class HalfSemanticsTests : IDisposable
{
    private readonly CpuBackend _cpu = new();

    /// <summary>Every one-op case (a norm + convolution pair rounds the norm's result before the convolution reads it).</summary>
    public static TheoryData<string> Cases() =>
        new(OpCases.Small.Where(c => c.Family is not ("convert" or "timestep_embedding" or "group_norm_conv2d")).Select(c => c.Id));

    [Theory, MemberData(nameof(Cases))]
    public void Fp16OpIsTheFp32OpRoundedOnce(string id)
    {
        var c = OpCases.Small.Single(x => x.Id == id);
        var half = c.CreateInputs(_cpu).Select(t => Swap(t, _cpu.Convert(t, DType.F16))).ToArray();
        var widened = half.Select(t => _cpu.Convert(t, DType.F32)).ToArray();
        try
        {
            using var y16 = c.Run(_cpu, half);
            using var y32 = c.Run(_cpu, widened);
            Assert.Equal(DType.F16, y16.DType);
            var expected = y32.ToArray().Select(v => (float)(Half)v).ToArray();
            Assert.Equal(expected, y16.ToArray());
        }
        finally
        {
            foreach (var t in half.Concat(widened)) t.Dispose();
        }
    }

    [Fact]
    public void MixedDtypesAreRefusedNamingBothTensors()
    {
        using var x = _cpu.FromHost(new float[6], new TensorShape(1, 2, 3), DType.F16);
        using var w = _cpu.FromHost(new float[12], new TensorShape(4, 3));
        var e = Assert.Throws<DiffuserException>(() => _cpu.Linear(x, w));
        Assert.Contains("same dtype", e.Message);
        Assert.Contains("F16", e.Message);
        Assert.Contains("F32", e.Message);
    }

    /// <summary>The one exception to one dtype per op: a GEMM of fp16 operands may keep its result (and bias) fp32, unrounded.</summary>
    [Fact]
    public void AGemmOfFp16OperandsMayHaveAnFp32ResultAndNothingElseMixes()
    {
        var random = new Random(3);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        using var a = _cpu.FromHost(Values(2 * 5 * 7), new TensorShape(2, 5, 7), DType.F16);
        using var b = _cpu.FromHost(Values(2 * 7 * 3), new TensorShape(2, 7, 3), DType.F16);
        using var bias = _cpu.FromHost(Values(3), new TensorShape(3));
        using var a32 = _cpu.Convert(a, DType.F32);
        using var b32 = _cpu.Convert(b, DType.F32);
        using var mixed = _cpu.Gemm(a, b, alpha: 0.5f, bias: bias, output: DType.F32);
        using var widened = _cpu.Gemm(a32, b32, alpha: 0.5f, bias: bias);
        Assert.Equal(DType.F32, mixed.DType);
        Assert.Equal(widened.ToArray(), mixed.ToArray());

        using var bias16 = _cpu.Convert(bias, DType.F16);
        Assert.Contains("F32", Assert.Throws<DiffuserException>(() => _cpu.Gemm(a, b, bias: bias16, output: DType.F32)).Message);
        Assert.Contains("same dtype", Assert.Throws<DiffuserException>(() => _cpu.Gemm(a, b, bias: bias)).Message);
        Assert.Contains("not F16", Assert.Throws<DiffuserException>(() => _cpu.Gemm(a32, b32, output: DType.F16)).Message);
        Assert.Contains("same dtype", Assert.Throws<DiffuserException>(() => _cpu.Gemm(a, b32, output: DType.F32)).Message);
    }

    /// <summary>The other: fp32 scores may give fp16 probabilities (the fp32 softmax rounded once); fp16 values never fp32 ones.</summary>
    [Fact]
    public void ASoftmaxOfFp32ValuesMayGiveFp16Probabilities()
    {
        var random = new Random(5);
        using var x = _cpu.FromHost(Enumerable.Range(0, 3 * 40).Select(_ => 4f * (float)random.NextDouble()).ToArray(), new TensorShape(3, 40));
        using var p16 = _cpu.Softmax(x, output: DType.F16);
        using var p32 = _cpu.Softmax(x);
        Assert.Equal(DType.F16, p16.DType);
        Assert.Equal(p32.ToArray().Select(v => (float)(Half)v), p16.ToArray());
        using var x16 = _cpu.Convert(x, DType.F16);
        Assert.Contains("not F32", Assert.Throws<DiffuserException>(() => _cpu.Softmax(x16, output: DType.F32)).Message);
    }

    [Fact]
    public void TimestepEmbeddingStaysFp32AndTheSamplerStepNeedsFp32()
    {
        using var t = _cpu.TimestepEmbedding([1f, 500f], 8, flipSinToCos: true, downscaleFreqShift: 1f);
        Assert.Equal(DType.F32, t.DType);
        using var sample = _cpu.FromHost(new float[4], new TensorShape(1, 4), DType.F16);
        var coefficients = new Diffuser.Kernels.Sampler.SamplerCoefficients(1f, new(1f, 0f, 0f, 0f, 0f, 0f), default, default);
        Assert.Throws<DiffuserException>(() => _cpu.SamplerStep(sample, null, [], null, coefficients, 1));
    }

    private static Tensor Swap(Tensor old, Tensor replacement)
    {
        old.Dispose();
        return replacement;
    }

    public void Dispose() => _cpu.Dispose();
}
