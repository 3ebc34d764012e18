using System.Runtime.CompilerServices;
using Diffuser.Backends;
using Diffuser.Tensors;
using Diffuser.Weights;

namespace Diffuser.Benchmarks;

/// <summary>
/// Random weights with the names and shapes of another source (a weights manifest, or real safetensors files whose
/// data is never read). Values are uniform in ±1/√fan_in (PyTorch's default init bound), norm gains near 1 and
/// biases small, so activations stay finite and normal through any depth (no NaNs or denormals to skew timings).
/// A fast parallel xorshift fill: the SD 1.5 UNet's 860 M parameters take about a second per core.
/// </summary>
public sealed class SyntheticWeightSource : IWeightSource
{
    private const int Chunk = 1 << 16;
    private readonly IWeightSource _shapes;
    private readonly ulong _seed;
    private readonly bool _fill;
    private float[] _host = [];

    /// <param name="shapes">Where names and shapes come from; it is disposed with this source.</param>
    /// <param name="seed">Same seed, same values.</param>
    /// <param name="fill">False: tensors are allocated but never written (FLOP counting on a <see cref="MetaBackend"/>).</param>
    public SyntheticWeightSource(IWeightSource shapes, ulong seed = 1, bool fill = true)
    {
        _shapes = shapes;
        _seed = seed;
        _fill = fill;
    }

    public string Description => $"random weights shaped as {_shapes.Description}";
    public IEnumerable<string> Names => _shapes.Names;

    /// <summary>Bytes of weights uploaded so far.</summary>
    public long BytesLoaded { get; private set; }

    public bool TryGetShape(string name, out int[] shape) => _shapes.TryGetShape(name, out shape);

    public void LoadInto(string name, Tensor destination) => LoadPartInto(name, 0, destination);

    /// <summary>A part gets values of its own, drawn as a tensor of its own would be.</summary>
    public void LoadPartInto(string name, long offset, Tensor destination)
    {
        if (!_shapes.TryGetShape(name, out var dims)) throw new DiffuserException($"{_shapes.Description} has no tensor '{name}'.");
        BytesLoaded += destination.Length * destination.DType.SizeInBytes();
        if (!_fill) return;
        if (_host.Length < destination.Length) _host = new float[destination.Length];
        var values = _host.AsMemory(0, (int)destination.Length);
        var (center, halfWidth) = Range(name, dims);
        Fill(values, center, halfWidth, _seed ^ Hash(name) ^ (ulong)offset);
        destination.Backend.Upload(values.Span, destination);
    }

    /// <summary>Centre and half-width of the uniform distribution for one tensor.</summary>
    private static (float Center, float HalfWidth) Range(string name, int[] dims)
    {
        if (dims.Length >= 2)
        {
            long fanIn = 1;
            for (int i = 1; i < dims.Length; i++) fanIn *= dims[i];
            return (0f, 1f / MathF.Sqrt(fanIn));
        }
        // Rank 0/1: norm gains (…norm….weight) near 1, biases and anything else near 0.
        return name.EndsWith("weight", StringComparison.Ordinal) ? (1f, 0.1f) : (0f, 0.02f);
    }

    private static void Fill(Memory<float> values, float center, float halfWidth, ulong seed)
    {
        int chunks = (values.Length + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, c =>
        {
            var span = values.Span.Slice(c * Chunk, Math.Min(Chunk, values.Length - c * Chunk));
            ulong state = SplitMix(seed + (ulong)c);
            const float scale = 2f / (1 << 24);
            for (int i = 0; i < span.Length; i++)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // 24 random bits → [−1, 1); through int, because ulong → float is a slow helper call on x64.
                span[i] = center + halfWidth * ((int)(state >> 40) * scale - 1f);
            }
        });
    }

    /// <summary>SplitMix64: turns consecutive seeds into well-mixed, non-zero xorshift states.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (x ^ (x >> 31)) | 1;
    }

    /// <summary>FNV-1a of the name: each tensor gets its own stream, independent of load order.</summary>
    private static ulong Hash(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char ch in name) h = (h ^ ch) * 1099511628211UL;
        return h;
    }

    public void Dispose() => _shapes.Dispose();
}
