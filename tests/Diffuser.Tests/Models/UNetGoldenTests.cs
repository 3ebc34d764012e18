using Diffuser.Backends;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models;

/// <summary>The UNets of tiny-sd (SD 1.x layout), tiny-sd2 (SD 2.x: linear projections, per-block heads) and
/// tiny-digits (trained, F16 weights) against diffusers' outputs.</summary>
public class UNetGoldenTests(ModelFixture fixture) : IClassFixture<ModelFixture>
{
    public static readonly string[] Models = ["tiny-sd", "tiny-sd2", "tiny-digits"];

    public static TheoryData<string, string> TimestepCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in Models)
            foreach (var c in new[] { "t999", "t500", "t1", "t250_5f", "tvec" }) data.Add(model, c);
        return data;
    }

    [Theory, MemberData(nameof(TimestepCases))]
    public void NoisePrediction(string model, string timestepCase)
    {
        var f = Golden.Open(model, "unet.safetensors");
        using var sample = fixture.Load(f, "sample");
        using var context = fixture.Load(f, "encoder_hidden_states");
        var timesteps = f.Floats(timestepCase + ".timestep");  // a scalar (int or 250.5) or one per batch element
        using var noisePred = fixture.Unet(model).Forward(sample, timesteps, context);
        ModelFixture.Check(noisePred, f, timestepCase + ".noise_pred");
    }

    /// <summary>
    /// One prepared text context across timesteps, as a generation's steps share it: each evaluation matches its golden
    /// and equals the unprepared evaluation bit for bit; after the first, the cross-attention k|v projections are not
    /// recomputed (one GEMM fewer per cross-attention layer).
    /// </summary>
    [Theory, MemberData(nameof(ModelNames))]
    public void APreparedContextServesEveryStepWithItsProjectionsMadeOnce(string model)
    {
        var f = Golden.Open(model, "unet.safetensors");
        var unet = fixture.Unet(model);
        using var sample = fixture.Load(f, "sample");
        using var states = fixture.Load(f, "encoder_hidden_states");
        using var context = unet.PrepareContext(states);
        int[] gemms = new int[3];
        int attentions = 0;
        string[] steps = ["t999", "t500", "t1"];
        for (int i = 0; i < steps.Length; i++)
        {
            var timesteps = f.Floats(steps[i] + ".timestep");
            var profiler = new Diffuser.Diagnostics.OpProfiler();
            fixture.Backend.Profiler = profiler;
            float[] prepared;
            try
            {
                using var noisePred = unet.Forward(sample, timesteps, context);
                ModelFixture.Check(noisePred, f, steps[i] + ".noise_pred");
                prepared = noisePred.ToArray();
            }
            finally
            {
                fixture.Backend.Profiler = null;
            }
            gemms[i] = profiler.Records.Count(r => r.Op == "gemm");
            attentions = profiler.Records.Count(r => r.Op == "attention");
            using var unprepared = unet.Forward(sample, timesteps, states);
            Assert.Equal(unprepared.ToArray(), prepared);
        }
        int crossAttentionLayers = attentions / 2;   // each transformer block attends to itself, then to the text
        Assert.True(crossAttentionLayers > 0);
        Assert.Equal([gemms[0], gemms[0] - crossAttentionLayers, gemms[0] - crossAttentionLayers], gemms);
    }

    [Theory, MemberData(nameof(ModelNames))]
    public void IntermediatesAtT500(string model)
    {
        var f = Golden.Open(model, "unet.safetensors");
        using var sample = fixture.Load(f, "sample");
        using var context = fixture.Load(f, "encoder_hidden_states");
        var seen = new Dictionary<string, (float[] Values, int[] Shape)>();
        using var noisePred = fixture.Unet(model).Forward(sample, f.Floats("t500.timestep"), context,
            hook: (name, t) => seen[name] = (t.ToArray(), t.Shape.Dims.ToArray()));

        const string prefix = "t500.intermediate.";
        var goldenNames = f.Tensors.Select(t => t.Name).Where(n => n.StartsWith(prefix)).Select(n => n[prefix.Length..]).ToList();
        Assert.Contains("up_blocks.1", goldenNames);
        foreach (var name in goldenNames.Where(n => n is not ("conv_norm_out" or "conv_out")))
        {
            Assert.True(seen.ContainsKey(name), $"no hook output named {name}");
            Assert.Equal(f.ShapeOf(prefix + name), seen[name].Shape);
            Tolerance.AssertClose(seen[name].Values, f.Floats(prefix + name), 1e-4, 1e-4, $"{model} {name}");
        }
        // GroupNorm and SiLU are one fused op here: compare silu(conv_norm_out) from the golden.
        using var normOut = fixture.Load(f, prefix + "conv_norm_out");
        using var expectedAct = fixture.Backend.Activate(normOut, Activation.Silu);
        Tolerance.AssertClose(seen["conv_act"].Values, expectedAct.ToArray(), 1e-4, 1e-4, $"{model} silu(conv_norm_out)");
        ModelFixture.Check(noisePred, f, prefix + "conv_out");
    }

    public static TheoryData<string> ModelNames() => new(Models);

    [Fact]
    public void ConfigGivesWhatPipelinesNeed()
    {
        var unet = fixture.Unet("tiny-sd2");
        Assert.Equal(4, unet.InChannels);
        Assert.Equal(32, unet.CrossAttentionDim);
        Assert.Equal((8, 8), unet.Config.DefaultLatentSize);
        Assert.True(unet.ParameterCount > 0);
    }
}
