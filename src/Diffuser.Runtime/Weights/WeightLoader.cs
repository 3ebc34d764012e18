using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>
/// Loads a model's tensors by the names its constructor asks for (through <see cref="Root"/> scopes) and keeps the
/// books: which were asked for, missing, mis-shaped, asked twice, and which the source has that nobody asked for.
/// <see cref="Complete"/> fails listing every problem at once; a model is never built from a partial match.
/// </summary>
public sealed class WeightLoader : IDisposable
{
    private readonly IWeightSource _source;
    private readonly Backend _backend;
    private readonly DType _dtype;
    private readonly Func<string, bool> _ignore;
    private readonly HashSet<string> _consumed = new();
    private readonly List<string> _missing = new(), _misShaped = new(), _duplicates = new();
    private List<Tensor>? _tensors = new();

    /// <param name="ignore">Source tensors that are not weights of the model (e.g. CLIP's position_ids buffer).</param>
    public WeightLoader(IWeightSource source, Backend backend, DType dtype = DType.F32, Func<string, bool>? ignore = null)
    {
        _source = source;
        _backend = backend;
        _dtype = dtype;
        _ignore = ignore ?? (_ => false);
    }

    public WeightScope Root => new(this, "");
    public Backend Backend => _backend;
    public long ParameterCount { get; private set; }

    /// <summary>The tensor <paramref name="name"/>, booked as consumed, missing or mis-shaped; loaded only when the source has it so.</summary>
    internal Tensor Get(string name, int[] shape)
    {
        bool complete = Book(name, shape);
        return Keep(new TensorShape(shape), t =>
        {
            if (complete) _source.LoadInto(name, t);
        });
    }

    /// <summary>Convolution filters [K, C, R, S] as the backend's convolution reads them (<see cref="Backend.PackConv2dFilter"/>).</summary>
    internal Tensor GetConv2dFilter(string name, int[] shape)
    {
        var weight = Get(name, shape);
        var packed = _backend.PackConv2dFilter(weight);
        if (!ReferenceEquals(packed, weight))
        {
            _tensors![_tensors.Count - 1] = packed;
            weight.Free();
        }
        return packed;
    }

    /// <summary>
    /// The tensors <paramref name="names"/>, of shapes <paramref name="partShapes"/> (equal but in the first
    /// dimension), joined along it; each name is booked as consumed, missing or mis-shaped on its own. The parts load
    /// straight into their rows of the joined tensor; with any part missing or mis-shaped nothing is loaded.
    /// </summary>
    internal Tensor GetConcatenated(string[] names, int[][] partShapes)
    {
        bool complete = true;
        for (int i = 0; i < names.Length; i++) complete &= Book(names[i], partShapes[i]);
        return Keep(new TensorShape([partShapes.Sum(s => s[0]), .. partShapes[0][1..]]), joined =>
        {
            if (complete) LoadParts(names, partShapes, joined);
        });
    }

    private void LoadParts(string[] names, int[][] partShapes, Tensor joined)
    {
        int row = 0;
        for (int i = 0; i < names.Length; i++)
        {
            using var rows = joined.Slice(row, partShapes[i][0]);
            _source.LoadInto(names[i], rows);
            row += partShapes[i][0];
        }
    }

    /// <summary>A new tensor of the model, written by <paramref name="load"/> and counted.</summary>
    private Tensor Keep(TensorShape shape, Action<Tensor> load)
    {
        var tensors = _tensors ?? throw new ObjectDisposedException(nameof(WeightLoader));
        var tensor = _backend.Allocate(shape, _dtype, load);
        ParameterCount += tensor.Length;
        tensors.Add(tensor);
        return tensor;
    }

    /// <summary>Books <paramref name="name"/> as asked for with <paramref name="shape"/>; whether the source has it so.</summary>
    private bool Book(string name, int[] shape)
    {
        if (!_consumed.Add(name)) _duplicates.Add(name);
        if (!_source.TryGetShape(name, out var actual))
        {
            _missing.Add($"{name} {new TensorShape(shape)}");
            return false;
        }
        if (!actual.AsSpan().SequenceEqual(shape))
        {
            _misShaped.Add($"{name}: expected {new TensorShape(shape)}, file has {new TensorShape(actual)}");
            return false;
        }
        return true;
    }

    internal bool Has(string name) => _source.TryGetShape(name, out _);

    /// <summary>Source tensors that no part of the model asked for (ignored names excluded).</summary>
    public IReadOnlyList<string> Unexpected =>
        _source.Names.Where(n => !_consumed.Contains(n) && !_ignore(n)).Order(StringComparer.Ordinal).ToList();

    public WeightLoadReport Report() => new(_source.Description, _consumed.Count, ParameterCount,
        _missing.ToList(), Unexpected, _misShaped.ToList(), _duplicates.ToList());

    /// <summary>Fails unless every requested tensor was found with its shape and every source tensor was used;
    /// on success hands over the loaded tensors, which the model then owns.</summary>
    public WeightSet Complete()
    {
        var report = Report();
        if (!report.IsExact) throw new WeightLoadException(report);
        var set = new WeightSet(_tensors!, ParameterCount);
        _tensors = null;
        return set;
    }

    public void Dispose()
    {
        if (_tensors is not null) foreach (var t in _tensors) t.Dispose();
        _tensors = null;
    }
}

/// <summary>
/// The tensors of a loaded model; disposing it frees them. <see cref="ParameterCount"/> counts the checkpoint's
/// values, <see cref="SizeInBytes"/> what the backend holds (packed filters pad their channels).
/// </summary>
public sealed class WeightSet(IReadOnlyList<Tensor> tensors, long parameterCount) : IDisposable
{
    public IReadOnlyList<Tensor> Tensors { get; } = tensors;
    public long ParameterCount { get; } = parameterCount;
    public long SizeInBytes => Tensors.Sum(t => t.Length * t.DType.SizeInBytes());

    public void Dispose()
    {
        foreach (var t in Tensors) t.Dispose();
    }
}
