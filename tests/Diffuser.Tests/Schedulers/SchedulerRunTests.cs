using Diffuser.Backends;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>Runs are independent of each other and of call order; misuse and unsupported configs fail loudly.</summary>
public class SchedulerRunTests : IDisposable
{
    private static readonly SchedulerConfig Sd15 = SchedulerConfig.Load(SchedulerGoldens.ConfigPath("sd15"));
    private readonly Backend _backend = TestBackend.Create();

    [Theory]
    [InlineData("dpm++_2m")]
    [InlineData("unipc")]
    [InlineData("heun")]
    [InlineData("lms")]
    [InlineData("euler_a")]
    [InlineData("plms")]
    [InlineData("dpm++_2s")]
    [InlineData("dpm2")]
    public void InterleavedRunsEqualSeparateRuns(string name)
    {
        var scheduler = SchedulerRegistry.Create(name, Sd15);
        var alone = new[] { Run(scheduler, seed: 1), Run(scheduler, seed: 2) };
        using var first = Start(scheduler, 1);
        using var second = Start(scheduler, 2);
        while (!first.State.IsComplete)
        {
            Advance(scheduler, first);
            Advance(scheduler, second);
        }
        Assert.Equal(alone[0], first.Sample.ToArray());
        Assert.Equal(alone[1], second.Sample.ToArray());
        Assert.NotEqual(alone[0], alone[1]);
    }

    [Fact]
    public void Img2ImgStartsPartWay()
    {
        var scheduler = SchedulerRegistry.Create("heun", Sd15);
        int begin = scheduler.BeginIndexForStrength(10, 0.6);
        using var run = Start(scheduler, 3, begin, steps: 10);
        Assert.Equal(8, begin);
        Assert.Equal(2 * 6 - 1, run.State.RemainingCalls);
        while (!run.State.IsComplete) Advance(scheduler, run);
        Assert.All(run.Sample.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void MisuseFails()
    {
        var euler = SchedulerRegistry.Create("euler", Sd15);
        var ddim = SchedulerRegistry.Create("ddim", Sd15);
        using var sample = _backend.FromHost(new float[256], SchedulerGoldens.SampleShape);
        using var done = euler.Begin(1);
        using (euler.Step(_backend, done, sample, sample)) { }
        Assert.Contains("complete", Assert.Throws<DiffuserException>(() => euler.Step(_backend, done, sample, sample)).Message);
        using var foreign = ddim.Begin(5);
        Assert.Contains("belongs to DDIMScheduler", Assert.Throws<DiffuserException>(() => euler.Step(_backend, foreign, sample, sample)).Message);
        using var noNoise = SchedulerRegistry.Create("euler_a", Sd15).Begin(5);
        Assert.Contains("noise source", Assert.Throws<DiffuserException>(() => noNoise.Scheduler.Step(_backend, noNoise, sample, sample)).Message);
        Assert.Contains("Begin index 10", Assert.Throws<DiffuserException>(() => euler.Begin(10, new SamplerOptions { BeginIndex = 10 })).Message);
        Assert.Contains("1001 steps", Assert.Throws<DiffuserException>(() => euler.Schedule(1001)).Message);
    }

    [Fact]
    public void UnsupportedConfigsFail()
    {
        // DDIM's class default clip_sample=true clamps x₀, which is no linear step
        Assert.Contains("clip_sample=true", Assert.Throws<DiffuserException>(() => new DdimScheduler(new SchedulerConfig())).Message);
        Assert.Contains("squaredcos", Assert.Throws<DiffuserException>(() => new EulerDiscreteScheduler(Sd15 with { BetaSchedule = "cosine" })).Message);
        Assert.Contains("thresholding=true", Assert.Throws<DiffuserException>(() => new DpmSolverMultistepScheduler(Sd15 with { Thresholding = true })).Message);
        Assert.Contains("skip_prk_steps=false", Assert.Throws<DiffuserException>(() => new PndmScheduler(Sd15 with { SkipPrkSteps = false })).Message);
        Assert.Contains("timestep_spacing \"even\"", Assert.Throws<DiffuserException>(() => new DdimScheduler(Sd15 with { TimestepSpacing = "even" })).Message);
        Assert.Contains("prediction_type \"flow\"", Assert.Throws<DiffuserException>(() => new EulerDiscreteScheduler(Sd15 with { PredictionType = "flow" })).Message);
        Assert.Contains("solver_order 3", Assert.Throws<DiffuserException>(() => new UniPCMultistepScheduler(Sd15 with { SolverOrder = 3 })).Message);
    }

    [Theory]
    [InlineData("squaredcos_cap_v2", "trailing", "dpm++_2m")]
    [InlineData("linear", "leading", "euler")]
    [InlineData("squaredcos_cap_v2", "linspace", "ddim")]
    public void OtherSchedulesAndSpacingsRun(string betaSchedule, string spacing, string name)
    {
        var scheduler = SchedulerRegistry.Create(name, Sd15 with { BetaSchedule = betaSchedule, TimestepSpacing = spacing, ClipSample = false });
        var schedule = scheduler.Schedule(7);
        Assert.Equal(7, schedule.Length);
        Assert.True(schedule.Timesteps.Zip(schedule.Timesteps.Skip(1)).All(p => p.First > p.Second), string.Join(", ", schedule.Timesteps));
        using var run = Start(scheduler, 4);
        while (!run.State.IsComplete) Advance(scheduler, run);
        Assert.All(run.Sample.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    private float[] Run(Scheduler scheduler, ulong seed)
    {
        using var run = Start(scheduler, seed);
        while (!run.State.IsComplete) Advance(scheduler, run);
        return run.Sample.ToArray();
    }

    private sealed class Generation(SamplerState state, Tensor sample) : IDisposable
    {
        public SamplerState State { get; } = state;
        public Tensor Sample { get; set; } = sample;

        public void Dispose()
        {
            Sample.Dispose();
            State.Dispose();
        }
    }

    private Generation Start(Scheduler scheduler, ulong seed, int beginIndex = 0, int steps = 8)
    {
        var noise = new PhiloxNoiseSource(seed);
        var state = scheduler.Begin(steps, new SamplerOptions { Noise = noise, FirstNoiseDraw = 1, BeginIndex = beginIndex });
        using var initial = noise.Normal(_backend, SchedulerGoldens.SampleShape, 0);
        return new Generation(state, _backend.Affine(initial, state.Schedule.InitNoiseSigma));
    }

    /// <summary>One call with a guided stand-in model: [uncond, cond] = [tanh(x/2), tanh(x/2)·cos(t/1000)], scale 3.</summary>
    private void Advance(Scheduler scheduler, Generation run)
    {
        using var input = scheduler.ScaleModelInput(_backend, run.State, run.Sample);
        var x = input.ToArray();
        float c = (float)Math.Cos(run.State.Timestep / 1000.0);
        float[] output = [.. x.Select(v => MathF.Tanh(0.5f * v)), .. x.Select(v => MathF.Tanh(0.5f * v) * c)];
        using var model = _backend.FromHost(output, SchedulerGoldens.SampleShape.WithDim(0, 2));
        var next = scheduler.Step(_backend, run.State, model, run.Sample, guidanceScale: 3f);
        run.Sample.Dispose();
        run.Sample = next;
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
