using System.Text.Json;
using System.Text.Json.Serialization;
using Diffuser.Diagnostics;

namespace Diffuser.Benchmarks;

/// <summary>The result of <see cref="GenerationBenchmark.Run"/>; <see cref="ToJson"/> is what <c>diffuser bench --json</c> writes.</summary>
public sealed record GenerationBenchmarkReport
{
    public required string Model { get; init; }
    public required string Backend { get; init; }
    public required string DeviceName { get; init; }
    [JsonPropertyName("dtype")]
    public required string DType { get; init; }
    /// <summary>The VAE's storage.</summary>
    [JsonPropertyName("vae_dtype")]
    public required string VaeDType { get; init; }
    /// <summary>The device as the backend describes it (compute capability; whether fp16 matmuls use tensor cores).</summary>
    public required string DeviceCapability { get; init; }
    public required int Batch { get; init; }
    public required bool Guided { get; init; }
    public required int ImageSize { get; init; }
    public required int LatentSize { get; init; }
    public required int Steps { get; init; }
    public required int Warmup { get; init; }
    public required string Scheduler { get; init; }
    public required double WeightSynthesisSeconds { get; init; }

    /// <summary>
    /// Wall time of each warm-up generation (of at most 2 steps). The first includes compiling every kernel the
    /// generation uses (on a GPU each kernel and specialisation is compiled on first use) and filling the buffer pool.
    /// </summary>
    public required IReadOnlyList<double> WarmupMs { get; init; }
    public required long WeightBytes { get; init; }

    /// <summary>Per component (text_encoder, unet_step, sampler_step, latent_prep, vae_decode): timings of the timed
    /// generation, with the FLOPs and bytes of one run from the profiled generation.</summary>
    public required IReadOnlyDictionary<string, TimingStats> Components { get; init; }

    /// <summary>
    /// Per component, its host times in the timed generation: until its work returned, the device left running (see
    /// <see cref="ComponentTimings"/>). Near the component's median: bound by issuing launches.
    /// </summary>
    public required IReadOnlyDictionary<string, TimingStats> HostIssue { get; init; }

    /// <summary>Wall time of the whole timed generation (text encoder to decoded image).</summary>
    public required double GenerationMs { get; init; }

    /// <summary>FLOPs of one UNet pass at batch 1 and this run's latent size.</summary>
    [JsonPropertyName("unet_flops_per_pass")]
    public required long UNetFlopsPerPass { get; init; }

    /// <summary>FLOPs of one UNet pass at batch 1 and the model's own sample_size (64×64 latents for SD 1.5).</summary>
    [JsonPropertyName("unet_flops_at_sample_size")]
    public required long UNetFlopsAtSampleSize { get; init; }
    public required int SampleSize { get; init; }

    /// <summary>Per component of the profiled generation, its ops grouped by family, most time first.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<OpSummary>> Kernels { get; init; }

    /// <summary>The ops of the profiled generation grouped by family and shapes, most time first (the top 40).</summary>
    public required IReadOnlyList<OpSummary> TopShapes { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    internal static GenerationBenchmarkReport Create(GenerationBenchmarkOptions options, SyntheticPipeline pipe, int size, GenerationRun run,
        IReadOnlyList<double> warmupSeconds, ComponentTimings timings, double generationSeconds, IReadOnlyList<OpRecord> profile, long flopsAtSampleSize,
        (int Height, int Width) sampleSize)
    {
        var sections = profile.GroupBy(r => r.Section).ToDictionary(g => g.Key, g => g.ToList());
        // The profiled generation ran one step: each component ran once, except latent_prep (initial noise + one input).
        TimingStats Stats(string component)
        {
            var records = sections.GetValueOrDefault(component) ?? [];
            int runsInProfile = component == GenerationBenchmark.LatentPrep ? 2 : 1;
            return TimingStats.From(timings.Wall.GetValueOrDefault(component) ?? [], records.Sum(r => r.Flops) / runsInProfile,
                records.Sum(r => r.Bytes) / runsInProfile);
        }
        string[] names = [GenerationBenchmark.TextEncoder, GenerationBenchmark.UNetStep, GenerationBenchmark.SamplerStep,
            GenerationBenchmark.LatentPrep, GenerationBenchmark.VaeDecode];
        var components = names.ToDictionary(c => c, Stats);
        long unetFlops = components[GenerationBenchmark.UNetStep].Flops;
        return new GenerationBenchmarkReport
        {
            Model = Path.GetFullPath(options.ModelFolder),
            Backend = pipe.Backend.Name,
            DeviceName = pipe.Backend.Device.Name,
            DType = options.DType.ToString().ToLowerInvariant(),
            VaeDType = pipe.Vae.DType.ToString().ToLowerInvariant(),
            DeviceCapability = pipe.Backend.Device.Capability,
            Batch = run.Batch,
            Guided = run.Guided,
            ImageSize = size,
            LatentSize = run.LatentSize,
            Steps = options.Steps,
            Warmup = options.Warmup,
            Scheduler = pipe.Scheduler.ClassName,
            WeightSynthesisSeconds = pipe.SynthesisSeconds,
            WeightBytes = pipe.WeightBytes,
            WarmupMs = warmupSeconds.Select(w => w * 1e3).ToList(),
            Components = components,
            HostIssue = names.ToDictionary(c => c, c => TimingStats.From(timings.Host.GetValueOrDefault(c) ?? [])),
            GenerationMs = generationSeconds * 1e3,
            UNetFlopsPerPass = unetFlops / run.Batch,
            UNetFlopsAtSampleSize = flopsAtSampleSize,
            SampleSize = sampleSize.Height,
            Kernels = sections.ToDictionary(s => s.Key, s => OpProfiler.ByOp(s.Value)),
            TopShapes = OpProfiler.ByShape(profile).Take(40).ToList(),
        };
    }
}
