using System.Text.Json;
using Diffuser.Backends;
using Diffuser.Models.Clip;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models.Clip;

/// <summary>
/// Plan mode against the real text encoders' weight manifests (SD 1.5 CLIP-L, SD 2.1 OpenCLIP-H, SDXL's CLIP-L and
/// OpenCLIP-bigG with projection): every tensor consumed exactly once with its shape, nothing left over.
/// </summary>
public class ClipTextModelPlanTests
{
    [Theory]
    [InlineData("sd15", "text_encoder", false)]
    [InlineData("sd21", "text_encoder", false)]
    [InlineData("sdxl", "text_encoder", false)]
    [InlineData("sdxl", "text_encoder_2", true)]
    public void PlanConsumesEveryManifestTensorOnce(string model, string component, bool withProjection)
    {
        string folder = Path.Combine(TestPaths.Model(model), component);
        using var meta = new MetaBackend();
        using var encoder = ClipTextModel.Plan(folder, meta);
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, ClipTextModel.ManifestFile))).RootElement;
        Assert.True(encoder.LoadReport.IsExact, encoder.LoadReport.ToString());
        Assert.Equal(manifest.GetProperty("num_tensors").GetInt32(), encoder.LoadReport.Consumed);
        Assert.Equal(manifest.GetProperty("num_elements").GetInt64(), encoder.ParameterCount);
        Assert.Equal(withProjection, encoder.HasProjection);
    }

    [Fact]
    public void PositionIdsBufferIsIgnoredButAnyOtherStrayTensorFails()
    {
        string folder = Path.Combine(TestPaths.Model("sd15"), "text_encoder");
        var config = ClipTextConfig.Load(Path.Combine(folder, ClipTextModel.ConfigFile));
        using var meta = new MetaBackend();
        using (var withBuffer = new EditedManifest(folder, add: (ClipTextModel.PositionIdsBuffer, [1, 77])))
        using (var encoder = ClipTextModel.Create(config, withBuffer, meta))
            Assert.Equal(196, encoder.LoadReport.Consumed);

        using var stray = new EditedManifest(folder, add: ("text_model.embeddings.extra.weight", [4]));
        var e = Assert.Throws<WeightLoadException>(() => ClipTextModel.Create(config, stray, meta));
        Assert.Equal(["text_model.embeddings.extra.weight"], e.Report.Unexpected);
    }

    [Fact]
    public void MissingAndMisShapedTensorsAreListed()
    {
        string folder = Path.Combine(TestPaths.Model("sd15"), "text_encoder");
        var config = ClipTextConfig.Load(Path.Combine(folder, ClipTextModel.ConfigFile));
        using var meta = new MetaBackend();
        using var edited = new EditedManifest(folder, remove: "text_model.final_layer_norm.bias",
            add: ("text_model.encoder.layers.3.mlp.fc1.weight", [3072, 769]));
        var e = Assert.Throws<WeightLoadException>(() => ClipTextModel.Create(config, edited, meta));
        Assert.Equal(["text_model.final_layer_norm.bias [768]"], e.Report.Missing);
        Assert.Single(e.Report.MisShaped, m => m.StartsWith("text_model.encoder.layers.3.mlp.fc1.weight: expected [3072, 768]"));
    }

    /// <summary>A component's manifest with one tensor removed and one added or re-shaped.</summary>
    private sealed class EditedManifest(string folder, (string Name, int[] Shape)? add = null, string? remove = null) : IWeightSource
    {
        private readonly ManifestWeightSource _inner = new(Path.Combine(folder, ClipTextModel.ManifestFile));

        public string Description => _inner.Description + " (edited)";

        public IEnumerable<string> Names => _inner.Names.Where(n => n != remove)
            .Concat(add is { } a && !_inner.TryGetShape(a.Name, out _) ? [a.Name] : []);

        public bool TryGetShape(string name, out int[] shape)
        {
            if (add is { } a && a.Name == name)
            {
                shape = a.Shape;
                return true;
            }
            shape = [];
            return name != remove && _inner.TryGetShape(name, out shape);
        }

        public void LoadInto(string name, Tensor destination)
        {
            if (!TryGetShape(name, out _)) throw new InvalidOperationException($"{name} is not in the edited manifest.");
        }

        public void LoadPartInto(string name, long offset, Tensor destination) => LoadInto(name, destination);

        public void Dispose() => _inner.Dispose();
    }
}
