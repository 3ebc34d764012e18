using System.Text.Json;
using System.Text.Json.Nodes;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Schedulers;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Schedulers;

/// <summary>One case of golden/schedulers.json (its metadata) with the matching tensors of schedulers.safetensors.</summary>
public sealed record SchedulerCase(string Name, JsonObject Meta)
{
    public string ClassName => (string)Meta["class"]!;
    public int Steps => (int)Meta["num_inference_steps"]!;
    public int Iterations => (int)Meta["loop_iterations"]!;
    public double Eta => Meta["step_kwargs"]!["eta"]?.GetValue<double>() ?? 0;
    public SafetensorsFile File => SchedulerGoldens.Tensors;
    public float[] Floats(string tensor) => File.Floats($"{Name}.{tensor}");
    public bool Has(string tensor) => File.Contains($"{Name}.{tensor}");

    /// <summary>The case's scheduler as the golden made it: Cls.from_config(real scheduler_config.json, **overrides).</summary>
    public Scheduler CreateScheduler()
    {
        var config = JsonNode.Parse(System.IO.File.ReadAllText(SchedulerGoldens.ConfigPath((string)Meta["config_source"]!)))!.AsObject();
        foreach (var (key, value) in Meta["config_overrides"]!.AsObject()) config[key] = value?.DeepClone();
        return SchedulerRegistry.Create(ClassName, SchedulerConfig.Parse(config.ToJsonString()));
    }

    /// <summary>The recorded step noise by iteration (stochastic cases), for <see cref="RecordedNoiseSource"/>.</summary>
    public RecordedNoiseSource? RecordedNoise()
    {
        if (!Has("step_noise")) return null;
        var noise = Floats("step_noise");
        var used = File.ReadInt64($"{Name}.step_noise_used");
        int size = noise.Length / used.Length;
        var draws = Enumerable.Range(0, used.Length).Where(i => used[i] != 0)
            .ToDictionary(i => (long)i, i => noise.AsSpan(i * size, size).ToArray());
        return new RecordedNoiseSource(draws);
    }

    /// <summary>Row <paramref name="index"/> of a stacked [iterations, 1, 4, 8, 8] tensor, uploaded as [1, 4, 8, 8].</summary>
    public Tensor Row(Backend backend, string tensor, int index)
    {
        var all = Floats(tensor);
        int size = all.Length / File.ShapeOf($"{Name}.{tensor}")[0];
        return backend.FromHost(all.AsSpan(index * size, size), SchedulerGoldens.SampleShape);
    }

    public override string ToString() => Name;
}

/// <summary>Access to golden/schedulers.json and schedulers.safetensors.</summary>
public static class SchedulerGoldens
{
    public static readonly TensorShape SampleShape = new(1, 4, 8, 8);

    private static readonly Lazy<JsonObject> Json = new(() =>
    {
        // Python's json writes -Infinity bare; System.Text.Json reads it as a quoted named literal
        var text = System.IO.File.ReadAllText(TestPaths.Golden("schedulers.json")).Replace("-Infinity", "\"-Infinity\"");
        return JsonNode.Parse(text)!.AsObject();
    });

    public static SafetensorsFile Tensors => Golden.Open("schedulers.safetensors");
    public static JsonObject Document => Json.Value;

    public static string ConfigPath(string source) => Path.Combine(TestPaths.Model(source), "scheduler", "scheduler_config.json");

    public static SchedulerCase Case(string name) => new(name, Document["cases"]![name]!.AsObject());

    public static TheoryData<string> CaseNames() => new(Document["cases"]!.AsObject().Select(c => c.Key));

    /// <summary>A JSON value as the record serialises it, for comparing resolved configs (numbers by value).</summary>
    public static bool SameValue(JsonNode? expected, JsonNode? actual) => (expected, actual) switch
    {
        (null, null) => true,
        (JsonValue e, JsonValue a) when e.GetValueKind() == JsonValueKind.Number && a.GetValueKind() == JsonValueKind.Number =>
            e.GetValue<double>() == a.GetValue<double>(),
        _ => JsonNode.DeepEquals(expected, actual),
    };
}
