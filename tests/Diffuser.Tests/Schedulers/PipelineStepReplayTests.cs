using System.Text.Json.Nodes;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>
/// The scheduler half of every pipeline golden, replayed without the UNet: each call's recorded UNet output
/// ([uncond, cond] or plain) and latents go through ScaleModelInput and the guided Step, and must give the recorded
/// UNet input and next latents. img2img runs start at the begin index and add_noise the encoded image first.
/// </summary>
public class PipelineStepReplayTests : IDisposable
{
    private const double Tol = 1e-5;
    private readonly Backend _backend = TestBackend.Create();

    /// <summary>Every pipeline golden: (model folder, file name).</summary>
    public static TheoryData<string, string> Pipelines()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "tiny-sd", "tiny-sd2", "tiny-digits" })
            foreach (var path in Directory.GetFiles(TestPaths.Golden(model), "pipeline_*.safetensors").Order())
                data.Add(model, Path.GetFileName(path));
        return data;
    }

    [Theory, MemberData(nameof(Pipelines))]
    public void StepsReproduceThePipeline(string model, string file)
    {
        var f = Golden.Open(model, file);
        var meta = f.Description();
        var config = SchedulerConfig.Parse(meta["scheduler_config"]!.ToJsonString());
        var scheduler = SchedulerRegistry.Create((string)meta["scheduler"]!, config);
        int steps = (int)meta["num_inference_steps"]!;
        float guidance = (float)meta["guidance_scale"]!;
        var img2img = meta["img2img"];
        int begin = img2img is null ? 0 : scheduler.BeginIndexForStrength(steps, (double)img2img["strength"]!);
        using var state = scheduler.Begin(steps, new SamplerOptions { BeginIndex = begin, Noise = StepNoise(f, meta, begin) });
        Assert.Equal(f.Floats("unet_timesteps"), Enumerable.Range(begin, state.RemainingCalls).Select(i => state.Schedule.Timesteps[i]).ToArray());

        var latents = img2img is null ? InitialLatents(f, state) : NoisedImageLatents(f, scheduler, state);
        var shape = new TensorShape(f.ShapeOf("latents_after_step")[1..]);
        for (int call = 0; !state.IsComplete; call++)
        {
            using var input = scheduler.ScaleModelInput(_backend, state, latents);
            var recordedInputs = Row(f, "unet_inputs", call);
            Tolerance.AssertClose(input.ToArray(), recordedInputs.AsSpan(recordedInputs.Length - (int)input.Length), Tol, Tol, $"{file} unet_inputs[{call}]");
            using var output = _backend.FromHost(Row(f, "unet_outputs", call), new TensorShape(f.ShapeOf("unet_outputs")[1..]));
            using var next = scheduler.Step(_backend, state, output, latents, guidance);
            Tolerance.AssertClose(next.ToArray(), Row(f, "latents_after_step", call), Tol, Tol, $"{file} latents_after_step[{call}]");
            latents.Dispose();
            latents = _backend.FromHost(Row(f, "latents_after_step", call), shape);
        }
        latents.Dispose();
    }

    private Tensor InitialLatents(SafetensorsFile f, SamplerState state) =>
        _backend.FromHost([.. f.Floats("init_latents").Select(v => v * state.Schedule.InitNoiseSigma)], new TensorShape(f.ShapeOf("init_latents")));

    /// <summary>add_noise(init_latents, noise.01) at the begin index: must be the pipeline's starting latents.</summary>
    private Tensor NoisedImageLatents(SafetensorsFile f, Scheduler scheduler, SamplerState state)
    {
        using var clean = f.Load(_backend, "img2img.init_latents");
        using var noise = f.Load(_backend, "noise.01");
        var noised = scheduler.AddNoise(_backend, state, clean, noise);
        Tolerance.AssertClose(noised.ToArray(), f.Floats("img2img.noised_latents"), Tol, Tol, "img2img.noised_latents");
        return noised;
    }

    /// <summary>The noise the scheduler drew in the recorded run, by call (every call of a stochastic run draws once).</summary>
    private static RecordedNoiseSource StepNoise(SafetensorsFile f, JsonObject meta, int begin)
    {
        var draws = meta["noise_draws"]!.AsArray()
            .Where(d => ((string)d!["drawn_in"]!).StartsWith("scheduling_"))
            .Select((d, k) => (Call: (long)(begin + k), Values: f.Floats($"noise.{(int)d!["index"]!:00}")));
        return new RecordedNoiseSource(draws.ToDictionary(d => d.Call, d => d.Values));
    }

    private static float[] Row(SafetensorsFile f, string name, int index)
    {
        var all = f.Floats(name);
        int size = all.Length / f.ShapeOf(name)[0];
        return all.AsSpan(index * size, size).ToArray();
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
