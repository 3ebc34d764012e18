using System.Text.Json;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Models.Clip;
using Diffuser.Models.Loading;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models.Clip;

/// <summary>Checkpoint layouts (sharded with an index, variants, the position_ids buffer), the eos-id pooling rule,
/// and the errors for bad configs, ids and folders.</summary>
public class ClipTextModelLoadingTests : IDisposable
{
    private readonly Backend _backend = TestBackend.Create();
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("clip-text-");

    private static string EncoderFolder(string model) => Path.Combine(TestPaths.Model(model), "text_encoder");

    private static (int[] Ids, int Batch) GoldenIds(string model)
    {
        var golden = Golden.Open(model, "text_encoder.safetensors");
        return (Array.ConvertAll(golden.ReadInt64("input_ids"), v => (int)v), golden.ShapeOf("input_ids")[0]);
    }

    private void AssertMatchesGolden(string folder, string model, string? variant = null)
    {
        var (ids, batch) = GoldenIds(model);
        using var encoder = ClipTextModel.Load(folder, _backend, variant: variant);
        using var embeds = encoder.EncodePrompt(ids, batch);
        Tolerance.AssertClose(embeds.ToArray(), Golden.Open(model, "text_encoder.safetensors").Floats("last_hidden_state"), 1e-4, 1e-4, "last_hidden_state");
    }

    private string NewFolder(string configFrom)
    {
        var folder = _temp.CreateSubdirectory(Guid.NewGuid().ToString("N")).FullName;
        File.Copy(Path.Combine(configFrom, ClipTextModel.ConfigFile), Path.Combine(folder, ClipTextModel.ConfigFile));
        return folder;
    }

    [Fact]
    public void ShardedCheckpointWithPositionIdsLoads()
    {
        string folder = NewFolder(EncoderFolder("tiny-sd"));
        using (var source = SafetensorsFile.Open(Path.Combine(EncoderFolder("tiny-sd"), "model.safetensors")))
        {
            var names = source.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
            var shards = new[] { new SafetensorsWriter(), new SafetensorsWriter() };
            var weightMap = new Dictionary<string, string>();
            for (int i = 0; i < names.Length; i++)
            {
                shards[i % 2].Add(names[i], source.ReadSingles(names[i]), source.GetInfo(names[i]).Shape);
                weightMap[names[i]] = $"model-0000{i % 2 + 1}-of-00002.safetensors";
            }
            // transformers < 4.31 saved this buffer; the real SD 1.5 / 2.1 checkpoints still carry it.
            shards[0].Add(ClipTextModel.PositionIdsBuffer, Enumerable.Range(0, 77).Select(p => (long)p).ToArray(), 1, 77);
            weightMap[ClipTextModel.PositionIdsBuffer] = "model-00001-of-00002.safetensors";
            for (int s = 0; s < 2; s++) shards[s].Save(Path.Combine(folder, $"model-0000{s + 1}-of-00002.safetensors"));
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), JsonSerializer.Serialize(new { weight_map = weightMap }));
        }
        Assert.Equal(2, ComponentFolder.Find(folder, ComponentFolder.TransformersWeightsName).WeightPaths.Count);
        AssertMatchesGolden(folder, "tiny-sd");
    }

    [Fact]
    public void VariantFileLoads()
    {
        string folder = NewFolder(EncoderFolder("tiny-digits"));
        File.Copy(Path.Combine(EncoderFolder("tiny-digits"), "model.safetensors"), Path.Combine(folder, "model.fp16.safetensors"));
        AssertMatchesGolden(folder, "tiny-digits", variant: "fp16");
    }

    [Fact]
    public void EosIdPoolingTakesTheFirstEosPosition()
    {
        // Configs with eos_token_id != 2 pool at the first id equal to it (no such id: position 0, torch's argmax of zeros).
        var config = ClipTextConfig.Load(Path.Combine(EncoderFolder("tiny-sd"), ClipTextModel.ConfigFile)) with { EosTokenId = 320 };
        var (ids, batch) = GoldenIds("tiny-sd");
        using var source = ComponentFolder.Find(EncoderFolder("tiny-sd"), ComponentFolder.TransformersWeightsName).OpenWeights();
        using var encoder = ClipTextModel.Create(config, source, _backend);
        using var output = encoder.Forward(ids, batch);
        int length = ids.Length / batch, hidden = config.HiddenSize;
        var last = output.LastHiddenState.ToArray();
        var expected = new float[batch * hidden];
        for (int b = 0; b < batch; b++)
        {
            int position = Math.Max(Array.IndexOf(ids, 320, b * length, length) - b * length, 0);
            Array.Copy(last, (b * length + position) * hidden, expected, b * hidden, hidden);
        }
        Assert.Contains(320, ids);
        Tolerance.AssertClose(output.PooledOutput.ToArray(), expected, 0, 0, "pooled at eos_token_id");
    }

    [Fact]
    public void WithProjectionAppliesTextProjectionToThePooledOutput()
    {
        // SDXL's text_encoder_2 layout on tiny-sd's weights: text_projection.weight [projection_dim, hidden], no bias.
        var config = ClipTextConfig.Load(Path.Combine(EncoderFolder("tiny-sd"), ClipTextModel.ConfigFile))
            with { Architectures = [ClipTextConfig.WithProjectionArchitecture], ProjectionDim = 3 };
        int hidden = config.HiddenSize;
        var projection = new float[3 * hidden];
        for (int p = 0; p < 3; p++) projection[p * hidden + 5 * p] = p + 1;     // row p picks feature 5p, times p + 1
        string extra = Path.Combine(_temp.FullName, "projection.safetensors");
        new SafetensorsWriter().Add("text_projection.weight", projection, 3, hidden).Save(extra);
        var (ids, batch) = GoldenIds("tiny-sd");
        using var source = new SafetensorsWeightSource([.. ComponentFolder.Find(EncoderFolder("tiny-sd"), ComponentFolder.TransformersWeightsName).WeightPaths, extra]);
        using var encoder = ClipTextModel.Create(config, source, _backend);
        using var output = encoder.Forward(ids, batch);
        Assert.True(encoder.HasProjection);
        var pooled = output.PooledOutput.ToArray();
        var expected = new float[batch * 3];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < 3; p++) expected[b * 3 + p] = (p + 1) * pooled[b * hidden + 5 * p];
        Tolerance.AssertClose(output.TextEmbeds!.ToArray(), expected, 1e-6, 1e-6, "text_embeds");
    }

    [Theory]
    [InlineData(49408, 1, "token id 49408 (sequence 0, position 3) is outside the vocabulary of 49408 ids")]
    [InlineData(-1, 1, "token id -1")]
    [InlineData(320, 2, "77 token ids do not split into 2 sequences")]
    public void BadIdsAreRejected(int id, int batch, string message)
    {
        using var encoder = ClipTextModel.Load(EncoderFolder("tiny-sd"), _backend);
        var ids = Enumerable.Repeat(49407, 77).ToArray();
        ids[3] = id;
        Assert.Contains(message, Assert.Throws<DiffuserException>(() => encoder.EncodePrompt(ids, batch)).Message);
    }

    [Fact]
    public void TooLongSequencesAndTooManySkippedLayersAreRejected()
    {
        using var encoder = ClipTextModel.Load(EncoderFolder("tiny-sd"), _backend);
        var e = Assert.Throws<DiffuserException>(() => encoder.Forward(new int[78], 1));
        Assert.Contains("exceed max_position_embeddings 77", e.Message);
        e = Assert.Throws<DiffuserException>(() => encoder.EncodePrompt(new int[77], 1, ClipSkip.FromDiffusers(encoder.LayerCount)));
        Assert.Contains("leaves none of its 4 layers", e.Message);
        Assert.Throws<DiffuserException>(() => ClipSkip.FromA1111(0));
    }

    [Theory]
    [InlineData("hidden_act", "\"swishy\"", "hidden_act 'swishy' is not supported")]
    [InlineData("num_attention_heads", "5", "num_attention_heads 5 must divide hidden_size 32")]
    [InlineData("model_type", "\"clip\"", "model_type 'clip' is not 'clip_text_model'")]
    [InlineData("layer_norm_eps", "0", "layer_norm_eps 0 must be a positive number")]
    [InlineData("num_hidden_layers", "0", "num_hidden_layers 0 must be positive")]
    public void BadConfigValuesAreNamed(string key, string value, string message)
    {
        string folder = NewFolder(EncoderFolder("tiny-sd"));
        string path = Path.Combine(folder, ClipTextModel.ConfigFile);
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(path))!;
        json[key] = JsonDocument.Parse(value).RootElement;
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        var e = Assert.Throws<DiffuserException>(() => ClipTextModel.Load(folder, _backend));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingWeightsAndShardsAreNamed()
    {
        string folder = NewFolder(EncoderFolder("tiny-sd"));
        var e = Assert.Throws<DiffuserException>(() => ClipTextModel.Load(folder, _backend));
        Assert.Contains("model.safetensors", e.Message);
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), """{"weight_map": {"a": "model-00001-of-00002.safetensors"}}""");
        e = Assert.Throws<DiffuserException>(() => ClipTextModel.Load(folder, _backend));
        Assert.Contains("shard file model-00001-of-00002.safetensors is missing", e.Message);
    }

    public void Dispose()
    {
        _backend.Dispose();
        _temp.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }
}
