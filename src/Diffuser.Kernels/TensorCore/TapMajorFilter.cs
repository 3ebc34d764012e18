using Diffuser.Kernels.Conv;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The filter layout of the tensor-core convolution (device and host code): [K, R, S, Cp], channels innermost and
/// padded with zero weights to Cp, C rounded up to 8. Eight consecutive reduction indices are then 8 channels of one
/// filter tap: the im2col gather (<see cref="HalfPatchOperand"/>) checks one tap per 8 elements and steps by a plane,
/// where PyTorch's [K, C, R, S] order would change channel or tap from element to element. Filters are packed once
/// when a model loads (<see cref="TensorCoreKernels.PackFilter"/>).
/// </summary>
public static class TapMajorFilter
{
    /// <summary>Cp: channels rounded up to a whole 16-byte chunk.</summary>
    public static int Channels(int c) => (c + 7) & ~7;

    /// <summary>Length of one packed filter of <paramref name="taps"/> = R·S taps: R·S·Cp.</summary>
    public static int Depth(int channels, int taps) => taps * Channels(channels);

    public static int Depth(Conv2dShape s) => Depth(s.C, s.R * s.S);
}
