using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// The default noise: counter-based Philox4x32-10 keyed by the seed with the draw number in the counter
/// (<see cref="Backend.NormalNoise"/>), generated on the device and bit-identical on every backend.
/// </summary>
public sealed class PhiloxNoiseSource(ulong seed) : INoiseSource
{
    public ulong Seed { get; } = seed;

    public Tensor Normal(Backend backend, TensorShape shape, long draw) => backend.NormalNoise(shape, Seed, (ulong)draw);
}
