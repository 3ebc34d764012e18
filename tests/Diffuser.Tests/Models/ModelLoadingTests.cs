using System.Text.Json.Nodes;
using Diffuser.IO;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tests.Infrastructure;
using Diffuser.Weights;

namespace Diffuser.Tests.Models;

/// <summary>Component folders as users have them (sharded, fp16 variant, older TAESD configs) and the errors for broken ones.</summary>
public sealed class ModelLoadingTests(ModelFixture fixture) : IClassFixture<ModelFixture>, IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("diffuser-models-");

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_temp.FullName, name)).FullName;

    private static string ModelFile(string model, string component, string file) => Path.Combine(TestPaths.Model(model), component, file);

    [Fact]
    public void MissingComponentFolderNamesIt()
    {
        var missing = Path.Combine(_temp.FullName, "no-such-pipeline", "unet");
        var e = Assert.Throws<DiffuserException>(() => UNet2DConditionModel.Load(missing, fixture.Backend));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void MissingWeightFileListsWhatIsThere()
    {
        var folder = Folder("vae-without-weights");
        File.Copy(ModelFile("tiny-sd", "vae", "config.json"), Path.Combine(folder, "config.json"));
        File.WriteAllText(Path.Combine(folder, "diffusion_pytorch_model.bin"), "");
        var e = Assert.Throws<DiffuserException>(() => AutoencoderKL.Load(folder, fixture.Backend));
        Assert.Contains("diffusion_pytorch_model.safetensors", e.Message);
        Assert.Contains("diffusion_pytorch_model.bin", e.Message);
    }

    [Fact]
    public void MissingConfigIsNamed()
    {
        var folder = Folder("unet-without-config");
        var e = Assert.Throws<DiffuserException>(() => UNet2DConditionModel.Load(folder, fixture.Backend));
        Assert.Contains("config.json", e.Message);
    }

    [Theory]
    [InlineData("norm_num_groups", "30", "30")]
    [InlineData("attention_head_dim", "5", "5")]
    [InlineData("attention_head_dim", "[2, 4, 8]", "[2, 4, 8]")]
    [InlineData("down_block_types", "[\"SimpleCrossAttnDownBlock2D\", \"DownBlock2D\"]", "'SimpleCrossAttnDownBlock2D'")]
    [InlineData("resnet_time_scale_shift", "\"scale_shift\"", "'scale_shift'")]
    [InlineData("block_out_channels", "[32]", "[32]")]
    public void BadUnetConfigValueIsQuoted(string key, string json, string quoted)
    {
        var folder = Folder("bad-unet");
        var config = JsonNode.Parse(File.ReadAllText(ModelFile("tiny-sd", "unet", "config.json")))!.AsObject();
        config[key] = JsonNode.Parse(json);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "diffusion_pytorch_model.safetensors"), "");  // never opened: the config fails first
        var e = Assert.Throws<DiffuserException>(() => UNet2DConditionModel.Load(folder, fixture.Backend));
        Assert.Contains(quoted, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void BadVaeConfigValueIsQuoted()
    {
        var path = Path.Combine(Folder("bad-vae"), "config.json");
        var config = JsonNode.Parse(File.ReadAllText(ModelFile("tiny-sd", "vae", "config.json")))!.AsObject();
        config["up_block_types"] = JsonNode.Parse("[\"UpDecoderBlock2D\", \"AttnUpDecoderBlock2D\"]");
        File.WriteAllText(path, config.ToJsonString());
        var e = Assert.Throws<DiffuserException>(() => AutoencoderKLConfig.Load(path).Validate());
        Assert.Contains("'AttnUpDecoderBlock2D'", e.Message);
    }

    /// <summary>
    /// A copy of tiny-sd's <paramref name="component"/> (config and weights) without the tensor <paramref name="dropped"/>,
    /// with zeros of <paramref name="shape"/> as <paramref name="reshaped"/>, plus what <paramref name="extra"/> writes.
    /// </summary>
    private string BrokenCopy(string component, string dropped, string reshaped, int[] shape, Action<SafetensorsWriter>? extra = null)
    {
        var folder = Folder($"broken-{component}");
        File.Copy(ModelFile("tiny-sd", component, "config.json"), Path.Combine(folder, "config.json"));
        using var source = SafetensorsFile.Open(ModelFile("tiny-sd", component, "diffusion_pytorch_model.safetensors"));
        var writer = new SafetensorsWriter();
        foreach (var t in source.Tensors.Where(t => t.Name != dropped))
        {
            if (t.Name == reshaped) writer.Add(t.Name, new float[shape.Aggregate(1, (a, b) => a * b)], shape);
            else writer.AddRaw(t.Name, t.DType, t.Shape, source.GetBytes(t));
        }
        extra?.Invoke(writer);
        writer.Save(Path.Combine(folder, "diffusion_pytorch_model.safetensors"));
        return folder;
    }

    [Fact]
    public void MisShapedMissingAndUnexpectedTensorsAreAllReported()
    {
        var folder = BrokenCopy("vae", dropped: "post_quant_conv.bias", reshaped: "quant_conv.weight", [8, 8, 3, 3],
            extra: writer => writer.Add("decoder.extra.weight", new float[4], 4));
        var e = Assert.Throws<WeightLoadException>(() => AutoencoderKL.Load(folder, fixture.Backend));
        Assert.Contains(e.Report.MisShaped, m => m.StartsWith("quant_conv.weight") && m.Contains("[8, 8, 1, 1]") && m.Contains("[8, 8, 3, 3]"));
        Assert.Contains(e.Report.Missing, m => m.StartsWith("post_quant_conv.bias"));
        Assert.Equal(["decoder.extra.weight"], e.Report.Unexpected);
    }

    /// <summary>
    /// The resnets' time_emb_proj tensors load as one joined matrix (<c>ResnetTimeProjections</c>), yet each is still
    /// checked under its own name: a missing bias and a mis-shaped weight of two different resnets are both reported.
    /// </summary>
    [Fact]
    public void JoinedTimeProjectionsReportEachTensorByItsOwnName()
    {
        var folder = BrokenCopy("unet", dropped: "down_blocks.1.resnets.0.time_emb_proj.bias", reshaped: "up_blocks.1.resnets.2.time_emb_proj.weight", [32, 64]);
        var e = Assert.Throws<WeightLoadException>(() => UNet2DConditionModel.Load(folder, fixture.Backend));
        Assert.Equal(["down_blocks.1.resnets.0.time_emb_proj.bias [64]"], e.Report.Missing);
        Assert.Contains(e.Report.MisShaped, m => m.StartsWith("up_blocks.1.resnets.2.time_emb_proj.weight") && m.Contains("[32, 128]") && m.Contains("[32, 64]"));
        Assert.Single(e.Report.MisShaped);
        Assert.Empty(e.Report.Unexpected);
    }

    [Fact]
    public void ShardedFp16VariantLoadsAndMatchesTheGolden()
    {
        // tiny-digits' weights are F16 already, so re-sharding them changes no value.
        var folder = Folder("sharded-vae");
        File.Copy(ModelFile("tiny-digits", "vae", "config.json"), Path.Combine(folder, "config.json"));
        var map = new JsonObject();
        using (var source = SafetensorsFile.Open(ModelFile("tiny-digits", "vae", "diffusion_pytorch_model.safetensors")))
        {
            var shards = new[] { new SafetensorsWriter(), new SafetensorsWriter() };
            var names = new[] { "diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "diffusion_pytorch_model.fp16-00002-of-00002.safetensors" };
            foreach (var t in source.Tensors)
            {
                int shard = t.Name.StartsWith("encoder.") ? 0 : 1;
                shards[shard].AddRaw(t.Name, t.DType, t.Shape, source.GetBytes(t));
                map[t.Name] = names[shard];
            }
            for (int i = 0; i < 2; i++) shards[i].Save(Path.Combine(folder, names[i]));
        }
        File.WriteAllText(Path.Combine(folder, "diffusion_pytorch_model.safetensors.fp16.index.json"),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());

        Assert.Equal(2, ComponentFolder.Find(folder).WeightPaths.Count);
        using var vae = AutoencoderKL.Load(folder, fixture.Backend);
        var f = Golden.Open("tiny-digits", "vae.safetensors");
        using var latents = fixture.Load(f, "decode.latents_unscaled");
        using var image = vae.Decode(latents);
        ModelFixture.Check(image, f, "decode.image");
    }

    [Fact]
    public void TaesdFolderFromAnOlderDiffusersLoadsUnchanged()
    {
        // Configs saved before shift_factor / upsample_fn / block_out_channels existed rely on diffusers' defaults.
        var folder = Folder("taesd");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Model("taesd-arch-random"), "config.json")))!.AsObject();
        foreach (var key in new[] { "shift_factor", "upsample_fn", "block_out_channels" }) config.Remove(key);
        config["_diffusers_version"] = "0.20.0.dev0";
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(TestPaths.Model("taesd-arch-random"), "diffusion_pytorch_model.safetensors"),
            Path.Combine(folder, "diffusion_pytorch_model.safetensors"));
        using var taesd = AutoencoderTiny.Load(folder, fixture.Backend);
        var f = Golden.Open("taesd-arch-random", "vae.safetensors");
        using var latents = fixture.Load(f, "random.latents");
        using var image = taesd.Decode(latents);
        ModelFixture.Check(image, f, "random.decoded");
    }

    [Fact]
    public void InputsOfTheWrongShapeAreRejected()
    {
        var unet = fixture.Unet("tiny-sd");
        using var sample = fixture.Backend.Allocate(new Diffuser.Tensors.TensorShape(2, 4, 8, 8));
        using var context = fixture.Backend.Allocate(new Diffuser.Tensors.TensorShape(2, 77, 16));
        var e = Assert.Throws<DiffuserException>(() => unet.Forward(sample, 10f, context));
        Assert.Contains("encoder_hidden_states", e.Message);
        using var goodContext = fixture.Backend.Allocate(new Diffuser.Tensors.TensorShape(2, 77, 32));
        Assert.Throws<DiffuserException>(() => unet.Forward(sample, [1f, 2f, 3f], goodContext));
    }

    public void Dispose() => _temp.Delete(recursive: true);
}
