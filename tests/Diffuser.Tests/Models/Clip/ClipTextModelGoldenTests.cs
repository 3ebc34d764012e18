using System.Text.Json;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Models.Clip;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Tests.Text;

namespace Diffuser.Tests.Models.Clip;

/// <summary>
/// golden/&lt;model&gt;/text_encoder.safetensors for tiny-sd (quick_gelu, 4 layers), tiny-sd2 (gelu, 3 layers, pad 0)
/// and tiny-digits (F16 weights, 2 layers): the model's own tokenizer, then every hidden state, the final and
/// clip-skipped embeddings and the pooled output on the test backend.
/// </summary>
public class ClipTextModelGoldenTests : IDisposable
{
    private const double Tol = 1e-4;
    private readonly Backend _backend = TestBackend.Create();

    public static TheoryData<string> Models() => new("tiny-sd", "tiny-sd2", "tiny-digits");

    private static SafetensorsFile GoldenOf(string model) => Golden.Open(model, "text_encoder.safetensors");

    private static string[] PromptsOf(SafetensorsFile golden) =>
        JsonDocument.Parse(golden.Metadata["golden"]).RootElement.GetProperty("prompts").EnumerateArray()
            .Select(p => p.GetString()!).ToArray();

    private static int[] GoldenIds(SafetensorsFile golden) => Array.ConvertAll(golden.ReadInt64("input_ids"), v => (int)v);

    private static void Check(Tensor actual, SafetensorsFile golden, string name, string? what = null) =>
        Check(actual, golden.Floats(name), golden.ShapeOf(name), what ?? name);

    private static void Check(Tensor actual, float[] expected, int[] shape, string what)
    {
        Assert.Equal(shape, actual.Shape.Dims.ToArray());
        Tolerance.AssertClose(actual.ToArray(), expected, Tol, Tol, what);
    }

    [Theory, MemberData(nameof(Models))]
    public void TokenizerGivesTheGoldenInputIds(string model)
    {
        var golden = GoldenOf(model);
        Assert.Equal(GoldenIds(golden), TestTokenizers.Of(model).EncodeBatch(PromptsOf(golden)));
    }

    [Theory, MemberData(nameof(Models))]
    public void ForwardMatchesEveryHiddenStateLastHiddenStateAndPooler(string model)
    {
        var golden = GoldenOf(model);
        var ids = GoldenIds(golden);
        int batch = golden.ShapeOf("input_ids")[0];
        using var encoder = ClipTextModel.FromModelFolder(TestPaths.Model(model), _backend);
        using var output = encoder.Forward(ids, batch, outputHiddenStates: true);

        var hiddenShape = golden.ShapeOf("hidden_states");
        Assert.Equal(hiddenShape[0], output.HiddenStates.Count);
        var all = golden.Floats("hidden_states");
        int per = all.Length / hiddenShape[0];
        Check(output.HiddenStates[0], golden, "embeddings");
        for (int i = 0; i < output.HiddenStates.Count; i++)
            Check(output.HiddenStates[i], all.AsSpan(i * per, per).ToArray(), hiddenShape[1..], $"hidden_states[{i}]");
        Check(output.LastHiddenState, golden, "last_hidden_state");
        Check(output.PooledOutput, golden, "pooler_output");
        Assert.Null(output.TextEmbeds);
    }

    [Theory, MemberData(nameof(Models))]
    public void EncodePromptMatchesLastHiddenStateAndClipSkip(string model)
    {
        var golden = GoldenOf(model);
        var ids = GoldenIds(golden);
        int batch = golden.ShapeOf("input_ids")[0];
        using var encoder = ClipTextModel.FromModelFolder(TestPaths.Model(model), _backend);
        using (var plain = encoder.EncodePrompt(ids, batch)) Check(plain, golden, "last_hidden_state");
        using (var diffusers = encoder.EncodePrompt(ids, batch, ClipSkip.FromDiffusers(1))) Check(diffusers, golden, "clip_skip_1");
        using (var a1111 = encoder.EncodePrompt(ids, batch, ClipSkip.FromA1111(2))) Check(a1111, golden, "clip_skip_1", "A1111 Clip skip 2");
    }

    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
