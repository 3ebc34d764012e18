using Diffuser.Backends;
using Diffuser.Schedulers;
using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>
/// Noise for a batch with one seed per image: row i of every draw is <see cref="PhiloxNoiseSource"/>(seed i)'s draw,
/// so an image depends on its seed alone, never on the batch it was generated in, and is the same on every backend.
/// </summary>
public sealed class BatchNoiseSource : INoiseSource
{
    private readonly PhiloxNoiseSource[] _images;

    public BatchNoiseSource(IReadOnlyList<ulong> seeds)
    {
        if (seeds.Count == 0) throw new DiffuserException("A batch needs at least one seed.");
        _images = seeds.Select(s => new PhiloxNoiseSource(s)).ToArray();
    }

    public IReadOnlyList<ulong> Seeds => _images.Select(s => s.Seed).ToArray();

    public Tensor Normal(Backend backend, TensorShape shape, long draw)
    {
        if (shape.Rank == 0 || shape[0] != _images.Length)
            throw new DiffuserException($"Noise of shape {shape} does not have one row per seed ({_images.Length}).");
        var row = shape.WithDim(0, 1);
        return TensorRows.Stack(backend, _images.Length, i => _images[i].Normal(backend, row, draw));
    }
}
