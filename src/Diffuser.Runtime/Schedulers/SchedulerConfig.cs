using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Diffuser.Configs;

namespace Diffuser.Schedulers;

/// <summary>
/// diffusers' scheduler_config.json as a record (snake_case JSON names). Every field is nullable: null means "not in
/// the file", and each scheduler fills the gaps with its own class defaults (<see cref="WithDefaults"/>), as
/// diffusers' <c>from_config</c> does. Unknown keys are ignored. Keys one scheduler does not use are kept, as
/// diffusers keeps them in the resolved config.
/// </summary>
public sealed record SchedulerConfig
{
    [JsonPropertyName("_class_name")] public string? ClassName { get; init; }
    public int? NumTrainTimesteps { get; init; }
    public double? BetaStart { get; init; }
    public double? BetaEnd { get; init; }
    public string? BetaSchedule { get; init; }
    public double[]? TrainedBetas { get; init; }
    public string? PredictionType { get; init; }
    public string? TimestepSpacing { get; init; }
    public int? StepsOffset { get; init; }
    public bool? RescaleBetasZeroSnr { get; init; }
    public bool? ClipSample { get; init; }
    public double? ClipSampleRange { get; init; }
    public bool? SetAlphaToOne { get; init; }
    public bool? Thresholding { get; init; }
    public double? DynamicThresholdingRatio { get; init; }
    public double? SampleMaxValue { get; init; }
    public bool? SkipPrkSteps { get; init; }
    public string? VarianceType { get; init; }
    public string? InterpolationType { get; init; }
    public string? TimestepType { get; init; }
    public bool? UseKarrasSigmas { get; init; }
    public bool? UseExponentialSigmas { get; init; }
    public bool? UseBetaSigmas { get; init; }
    public double? SigmaMin { get; init; }
    public double? SigmaMax { get; init; }
    public string? FinalSigmasType { get; init; }
    public int? SolverOrder { get; init; }
    public string? AlgorithmType { get; init; }
    public string? SolverType { get; init; }
    public bool? LowerOrderFinal { get; init; }
    public bool? EulerAtFinal { get; init; }
    public bool? UseLuLambdas { get; init; }
    public double? LambdaMinClipped { get; init; }
    public bool? PredictX0 { get; init; }
    public int[]? DisableCorrector { get; init; }
    public JsonElement? SolverP { get; init; }

    /// <summary>Reads a scheduler_config.json.</summary>
    public static SchedulerConfig Load(string path) => JsonConfig.Load<SchedulerConfig>(path);

    /// <summary>Parses scheduler_config.json text (<paramref name="source"/> names it in errors).</summary>
    public static SchedulerConfig Parse(string json, string source = "scheduler config")
    {
        try
        {
            return JsonSerializer.Deserialize<SchedulerConfig>(json, JsonConfig.Options)
                ?? throw new DiffuserException($"{source}: the config is empty (null).");
        }
        catch (JsonException e)
        {
            throw new DiffuserException($"{source}: cannot read SchedulerConfig: {e.Message}", e);
        }
    }

    /// <summary>This config with every null field taken from <paramref name="defaults"/>.</summary>
    public SchedulerConfig WithDefaults(SchedulerConfig defaults)
    {
        var merged = JsonSerializer.SerializeToNode(defaults, JsonConfig.Options)!.AsObject();
        foreach (var (key, value) in JsonSerializer.SerializeToNode(this, JsonConfig.Options)!.AsObject())
            if (value is not null) merged[key] = value.DeepClone();
        return merged.Deserialize<SchedulerConfig>(JsonConfig.Options)!;
    }

    /// <summary>The config as JSON, with the snake_case names of scheduler_config.json.</summary>
    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, JsonConfig.Options)!.AsObject();
}
