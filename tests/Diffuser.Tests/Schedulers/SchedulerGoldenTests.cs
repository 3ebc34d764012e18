using Diffuser.Backends;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>
/// Every case of golden/schedulers: the schedule, the resolved config, each step fed with the recorded inputs, and
/// the whole loop with the closed-form model stand-in, through the test backend's fused sampler step.
/// </summary>
public class SchedulerGoldenTests : IDisposable
{
    private const double ScheduleTol = 1e-6, StepTol = 1e-5, LmsStepTol = 1e-4, LoopAtol = 1e-3, LoopRtol = 1e-4;
    private readonly Backend _backend = TestBackend.Create();

    public static TheoryData<string> Cases() => SchedulerGoldens.CaseNames();

    [Fact]
    public void TrainingScheduleMatchesTorch()
    {
        var scheduler = SchedulerRegistry.Create("DDIMScheduler", SchedulerConfig.Load(SchedulerGoldens.ConfigPath("sd15")));
        var f = SchedulerGoldens.Tensors;
        Tolerance.AssertClose(scheduler.Training.Betas.ToArray(), f.Floats("schedule.betas"), 0, ScheduleTol, "betas");
        Tolerance.AssertClose(scheduler.Training.AlphasCumprod, f.Floats("schedule.alphas_cumprod"), 0, ScheduleTol, "alphas_cumprod");
    }

    [Theory, MemberData(nameof(Cases))]
    public void ScheduleMatches(string name)
    {
        var c = SchedulerGoldens.Case(name);
        var schedule = c.CreateScheduler().Schedule(c.Steps);
        var expected = c.Floats("timesteps");
        Assert.Equal(c.Iterations, schedule.Length);
        Assert.Equal((string)c.Meta["timesteps_dtype"]! == "torch.int64", schedule.IntegerTimesteps);
        if (schedule.IntegerTimesteps) Assert.Equal(expected, schedule.Timesteps);
        else Tolerance.AssertClose(schedule.Timesteps.ToArray(), expected, 0, ScheduleTol, $"{name} timesteps");
        if (c.Has("sigmas")) Tolerance.AssertClose(schedule.Sigmas.ToArray(), c.Floats("sigmas"), ScheduleTol, ScheduleTol, $"{name} sigmas");
        else Assert.Empty(schedule.Sigmas);
        Tolerance.AssertClose([schedule.InitNoiseSigma], c.Floats("init_noise_sigma"), ScheduleTol, ScheduleTol, $"{name} init_noise_sigma");
    }

    [Theory, MemberData(nameof(Cases))]
    public void ResolvedConfigMatchesFromConfig(string name)
    {
        var c = SchedulerGoldens.Case(name);
        var resolved = c.CreateScheduler().Config.ToJson();
        foreach (var (key, expected) in c.Meta["resolved_config"]!.AsObject())
        {
            Assert.True(resolved.ContainsKey(key), $"{name}: the config record has no {key}");
            Assert.True(SchedulerGoldens.SameValue(expected, resolved[key]), $"{name}: {key} is {resolved[key]?.ToJsonString()}, diffusers resolved {expected?.ToJsonString()}");
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void EachStepMatchesFromRecordedInputs(string name)
    {
        var c = SchedulerGoldens.Case(name);
        var scheduler = c.CreateScheduler();
        double tol = c.ClassName == "LMSDiscreteScheduler" ? LmsStepTol : StepTol;
        using var state = scheduler.Begin(c.Steps, new SamplerOptions { Noise = c.RecordedNoise(), Eta = c.Eta });
        for (int i = 0; i < c.Iterations; i++)
        {
            using var sample = c.Row(_backend, "samples", i);
            using var output = c.Row(_backend, "model_outputs", i);
            using var input = scheduler.ScaleModelInput(_backend, state, sample);
            Tolerance.AssertClose(input.ToArray(), Row(c, "model_inputs", i), ScheduleTol, ScheduleTol, $"{name} model_inputs[{i}]");
            using var next = scheduler.Step(_backend, state, output, sample);
            Tolerance.AssertClose(next.ToArray(), Row(c, "samples", i + 1), tol, tol, $"{name} samples[{i + 1}]");
        }
        Assert.True(state.IsComplete);
    }

    [Theory, MemberData(nameof(Cases))]
    public void WholeLoopWithModelStandInMatches(string name)
    {
        var c = SchedulerGoldens.Case(name);
        var scheduler = c.CreateScheduler();
        using var state = scheduler.Begin(c.Steps, new SamplerOptions { Noise = c.RecordedNoise(), Eta = c.Eta });
        var start = SchedulerGoldens.Tensors.Floats("x_T").Select(v => v * state.Schedule.InitNoiseSigma).ToArray();
        var sample = _backend.FromHost(start, SchedulerGoldens.SampleShape);
        try
        {
            for (int i = 0; !state.IsComplete; i++)
            {
                using var input = scheduler.ScaleModelInput(_backend, state, sample);
                using var output = ModelStandIn(input, state.Timestep);
                var next = scheduler.Step(_backend, state, output, sample);
                sample.Dispose();
                sample = next;
                Tolerance.AssertClose(sample.ToArray(), Row(c, "samples", i + 1), LoopAtol, LoopRtol, $"{name} loop samples[{i + 1}]");
            }
        }
        finally { sample.Dispose(); }
    }

    /// <summary>The golden's model: tanh(0.5·x)·fp32(cos(fp64(t)/1000)), in fp32.</summary>
    private Tensor ModelStandIn(Tensor input, float timestep)
    {
        float scale = (float)Math.Cos(timestep / 1000.0);
        var values = input.ToArray().Select(v => MathF.Tanh(0.5f * v) * scale).ToArray();
        return _backend.FromHost(values, input.Shape);
    }

    private static float[] Row(SchedulerCase c, string tensor, int index)
    {
        var all = c.Floats(tensor);
        int size = all.Length / c.File.ShapeOf($"{c.Name}.{tensor}")[0];
        return all.AsSpan(index * size, size).ToArray();
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
