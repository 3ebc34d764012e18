using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>Noise recorded elsewhere (e.g. torch's generator in a golden run), replayed by draw number.</summary>
public sealed class RecordedNoiseSource(IReadOnlyDictionary<long, float[]> draws) : INoiseSource
{
    public Tensor Normal(Backend backend, TensorShape shape, long draw)
    {
        if (!draws.TryGetValue(draw, out var values))
            throw new DiffuserException($"No recorded noise for draw {draw} (recorded: {string.Join(", ", draws.Keys.Order())}).");
        if (values.Length != shape.ElementCount)
            throw new DiffuserException($"Recorded noise draw {draw} has {values.Length} values; {shape} needs {shape.ElementCount}.");
        return backend.FromHost(values, shape);
    }
}
