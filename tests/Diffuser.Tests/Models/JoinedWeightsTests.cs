using Diffuser.Backends.Cpu;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models;

/// <summary>A fused projection's parts load straight into their rows of one tensor: the values in order, one buffer.</summary>
public sealed class JoinedWeightsTests
{
    private static readonly string UnetWeights = Path.Combine(TestPaths.Model("tiny-sd"), "unet", "diffusion_pytorch_model.safetensors");

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    public void PartsLoadIntoTheirRowsOfOneBuffer(DType dtype)
    {
        using var backend = new CpuBackend();
        using var source = new SafetensorsWeightSource(UnetWeights);
        using var loader = new WeightLoader(source, backend, dtype);
        var attention = loader.Root.Scope("down_blocks.0.attentions.0.transformer_blocks.0.attn1");
        long before = backend.Pool.Allocations;

        var joined = attention.GetConcatenated(["to_q", "to_k", "to_v"], "weight", 32, 32);

        Assert.Equal(before + 1, backend.Pool.Allocations);
        Assert.Equal(new TensorShape(96, 32), joined.Shape);
        float[] expected = [.. new[] { "to_q", "to_k", "to_v" }.SelectMany(part =>
        {
            using var alone = source.Load($"{attention.Prefix}.{part}.weight", backend, dtype);
            return alone.ToArray();
        })];
        Assert.Equal(expected, joined.ToArray());
        var report = loader.Report();
        Assert.Equal(3, report.Consumed);
        Assert.Empty(report.Missing);
        Assert.Empty(report.MisShaped);
    }
}
