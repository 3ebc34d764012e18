using Diffuser.Kernels.Random;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>Philox4x32-10 against Random123's known-answer vectors, and the normal noise built on it.</summary>
public class PhiloxNoiseTests
{
    [Theory]
    [InlineData(new uint[] { 0, 0, 0, 0 }, new uint[] { 0, 0 }, new uint[] { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 })]
    [InlineData(new uint[] { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }, new uint[] { 0xffffffff, 0xffffffff }, new uint[] { 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd })]
    [InlineData(new uint[] { 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344 }, new uint[] { 0xa4093822, 0x299f31d0 }, new uint[] { 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 })]
    public void MatchesKnownAnswerVectors(uint[] counter, uint[] key, uint[] expected)
    {
        var block = Philox4x32.Generate(new PhiloxBlock(counter[0], counter[1], counter[2], counter[3]), key[0], key[1]);
        Assert.Equal(expected, new[] { block.X0, block.X1, block.X2, block.X3 });
    }

    [Fact]
    public void FixedPointBoxMullerAgreesWithDoubleFormula()
    {
        var random = new System.Random(5);
        uint[] edges = [0, 1, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xBFFFFFFF, 0xC0000000, 0xFFFFFFFE, 0xFFFFFFFF];
        var words = edges.Concat(Enumerable.Range(0, 4000).Select(_ => (uint)random.NextInt64(0, 1L << 32))).ToArray();
        var actual = new List<float>();
        var expected = new List<float>();
        for (int i = 0; i + 1 < words.Length; i++)
        {
            uint a = words[i], b = words[^(i + 1)];
            var pair = FixedPointBoxMuller.Transform(a, b);
            double radius = Math.Sqrt(-2 * Math.Log((a + 1.0) / 4294967296.0)), angle = 2 * Math.PI * (b / 4294967296.0);
            actual.AddRange([pair.First, pair.Second]);
            expected.AddRange([(float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle))]);
        }
        Tolerance.AssertClose(actual.ToArray(), expected.ToArray(), 1e-6, 0, "fixed-point Box–Muller vs double");
    }

    [Fact]
    public void NoiseIsStandardNormal()
    {
        var z = new float[1 << 16];
        RandomManaged.Normal(z, seed: 1234, draw: 0);
        double mean = z.Average(v => (double)v), std = Math.Sqrt(z.Average(v => (v - mean) * (v - mean)));
        double withinOne = z.Count(v => Math.Abs(v) < 1) / (double)z.Length;
        Assert.InRange(mean, -0.015, 0.015);
        Assert.InRange(std, 0.985, 1.015);
        Assert.InRange(withinOne, 0.6827 - 0.006, 0.6827 + 0.006);
        Assert.InRange(z.Max(v => Math.Abs(v)), 3.5, 6.67);
    }

    [Fact]
    public void NoiseIsAPureFunctionOfSeedDrawAndIndex()
    {
        var whole = new float[100_003];
        RandomManaged.Normal(whole, seed: 42, draw: 7);
        foreach (int i in new[] { 0, 1, 2, 3, 4, 16_384, 50_001, 100_002 })
            Assert.Equal(whole[i], PhiloxNormal.Element(i, 42, 7));
        Assert.NotEqual(whole[5], PhiloxNormal.Element(5, 42, 8));
        Assert.NotEqual(whole[5], PhiloxNormal.Element(5, 43, 7));
        Assert.NotEqual(whole[5], PhiloxNormal.Element(5, 42UL << 32 | 42, 7));
    }

    [Fact]
    public void BackendNoiseIsTheManagedNoiseBitForBit()
    {
        using var backend = TestBackend.Create();
        var shape = new TensorShape(2, 4, 9, 7);
        using var noise = new PhiloxNoiseSource(99).Normal(backend, shape, 3);
        var expected = new float[shape.ElementCount];
        RandomManaged.Normal(expected, 99, 3);
        Assert.Equal(expected, noise.ToArray());
    }
}
