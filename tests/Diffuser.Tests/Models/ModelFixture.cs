using System.Collections.Concurrent;
using Diffuser.Backends;
using Diffuser.IO;
using Diffuser.Models.Loading;
using Diffuser.Models.Unet;
using Diffuser.Models.Vae;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Models;

/// <summary>One test backend per test class and the shared tiny models loaded on it once, on first use.</summary>
public sealed class ModelFixture : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _models = new();

    public Backend Backend { get; } = TestBackend.Create();

    public UNet2DConditionModel Unet(string model) =>
        (UNet2DConditionModel)Get($"{model}/unet", () => UNet2DConditionModel.FromModelFolder(TestPaths.Model(model), Backend));

    public AutoencoderKL Vae(string model) =>
        (AutoencoderKL)Get($"{model}/vae", () => AutoencoderKL.FromModelFolder(TestPaths.Model(model), Backend));

    public AutoencoderTiny Taesd() =>
        (AutoencoderTiny)Get("taesd", () => AutoencoderTiny.Load(TestPaths.Model("taesd-arch-random"), Backend));

    private LoadedModel Get(string key, Func<LoadedModel> load) => _models.GetOrAdd(key, _ => new Lazy<LoadedModel>(load)).Value;

    public Tensor Load(SafetensorsFile file, string name) => file.Load(Backend, name);

    /// <summary>Compares a tensor with a golden tensor: same shape, values within atol + rtol·|expected|.</summary>
    public static void Check(Tensor actual, SafetensorsFile file, string name, double atol = 1e-4, double rtol = 1e-4)
    {
        Assert.Equal(file.ShapeOf(name), actual.Shape.Dims.ToArray());
        Tolerance.AssertClose(actual.ToArray(), file.Floats(name), atol, rtol, $"{Path.GetFileName(Path.GetDirectoryName(file.Path))}/{name}");
    }

    /// <summary>8-bit images may differ by one level on at most 1% of values (rounding at .5 boundaries).</summary>
    public static void CheckBytes(byte[] actual, SafetensorsFile file, string name)
    {
        var expected = file.ReadInt64(name);
        Assert.Equal(expected.Length, actual.Length);
        int offByOne = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            long diff = Math.Abs(actual[i] - expected[i]);
            Assert.True(diff <= 1, $"{name}[{i}]: {actual[i]} vs {expected[i]}");
            if (diff == 1) offByOne++;
        }
        Assert.True(offByOne <= actual.Length / 100, $"{name}: {offByOne} of {actual.Length} values are off by one (> 1%)");
    }

    public void Dispose()
    {
        foreach (var model in _models.Values.Where(m => m.IsValueCreated)) model.Value.Dispose();
        Backend.Dispose();
    }
}
