using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Models.Loading;

/// <summary>
/// A model built from named tensors: its constructor asks for every weight through <see cref="WeightScope"/>s, and
/// the model owns the resulting <see cref="WeightSet"/> (disposing the model frees its weights).
/// </summary>
public abstract class LoadedModel : IDisposable
{
    private WeightSet? _weights;

    protected LoadedModel(Backend backend) => Backend = backend;

    /// <summary>The backend the weights live on and the forward pass runs on.</summary>
    public Backend Backend { get; }

    public WeightSet Weights => _weights ?? throw new ObjectDisposedException(GetType().Name);
    public long ParameterCount => Weights.ParameterCount;

    /// <summary>The storage of the weights, and of the activations the forward pass computes.</summary>
    public DType DType => Weights.Tensors.Count > 0 ? Weights.Tensors[0].DType : DType.F32;

    /// <summary><paramref name="x"/> in this model's dtype: null when it already is (use x), else a converted copy to dispose.</summary>
    protected Tensor? InModelDType(Tensor x) => x.DType == DType ? null : Backend.Convert(x, DType);

    /// <summary>
    /// Builds a model whose constructor reads its tensors from <paramref name="source"/>, stored on the backend as
    /// <paramref name="dtype"/>, then checks that every tensor of the source was consumed exactly once with the right
    /// shape (<see cref="WeightLoader.Complete"/>).
    /// </summary>
    protected static TModel Build<TModel>(IWeightSource source, Backend backend, DType dtype, Func<WeightScope, TModel> construct)
        where TModel : LoadedModel
    {
        using var loader = new WeightLoader(source, backend, dtype);
        var model = construct(loader.Root);
        model._weights = loader.Complete();
        return model;
    }

    /// <summary>
    /// Opens a component folder (<see cref="ComponentFolder.Find"/>), reads and validates its config, and builds the
    /// model from its weights; the weight files are closed again once the tensors are on the backend.
    /// </summary>
    protected static TModel LoadFolder<TConfig, TModel>(string folder, Func<string, TConfig> loadConfig,
        Func<TConfig, IWeightSource, TModel> fromWeights)
    {
        var files = ComponentFolder.Find(folder);
        var config = loadConfig(files.ConfigPath);
        using var source = files.OpenWeights();
        return fromWeights(config, source);
    }

    /// <summary>
    /// Plan mode: builds the model on a <see cref="MetaBackend"/> (shapes only, no memory) and reports how its
    /// requests matched <paramref name="source"/>, without failing.
    /// </summary>
    protected static WeightLoadReport Plan(IWeightSource source, Action<WeightScope, Backend> construct)
    {
        using var meta = new MetaBackend();
        using var loader = new WeightLoader(source, meta);
        construct(loader.Root, meta);
        return loader.Report();
    }

    public void Dispose()
    {
        _weights?.Dispose();
        _weights = null;
        GC.SuppressFinalize(this);
    }
}
