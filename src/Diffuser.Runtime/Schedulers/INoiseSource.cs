using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Schedulers;

/// <summary>
/// Standard normal noise by draw number. A draw is a pure function of the source and the draw number (never of how
/// many draws came before), so runs replay: pipelines use it for the initial latents and stochastic steps, and tests
/// inject recorded noise (<see cref="RecordedNoiseSource"/>).
/// </summary>
public interface INoiseSource
{
    /// <summary>A new tensor of <paramref name="shape"/> holding draw number <paramref name="draw"/> (dispose it).</summary>
    Tensor Normal(Backend backend, TensorShape shape, long draw);
}
