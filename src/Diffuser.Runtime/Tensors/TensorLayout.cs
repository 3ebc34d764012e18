namespace Diffuser.Tensors;

public enum TensorLayout
{
    /// <summary>Row-major over <see cref="Tensor.Shape"/>: what every op reads and writes.</summary>
    Dense,

    /// <summary>
    /// A convolution filter [K, R, S, Cp] made by <see cref="Backends.Backend.PackConv2dFilter"/> for the tensor-core
    /// convolution: PyTorch's [K, C, R, S] with channels innermost, padded with zeros to Cp (C rounded up to 8).
    /// Only that backend's <see cref="Backends.Backend.Conv2d"/> reads it.
    /// </summary>
    TapMajorFilter,

    /// <summary>
    /// An image [N, C, H, W] (its shape, as if dense) stored [N, C/8, H·W, 8] (<see cref="Kernels.Conv.ChannelBlocks"/>):
    /// what a <see cref="Backends.Backend.GroupNorm"/> asked for a convolution's input writes where the backend's
    /// convolution reads it fastest. Only that backend's <see cref="Backends.Backend.Conv2d"/> reads it, as its input (<see cref="Tensor.ToArray"/> copies it as stored).
    /// </summary>
    ChannelBlocked,
}
