using System.Runtime.InteropServices;

namespace Diffuser.Kernels.Launch;

/// <summary>Eight fp16 values as four 32-bit words (16 bytes: one vectorised load or store).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct Half8
{
    public uint X, Y, Z, W;

    /// <summary>Packs eight fp16 bit patterns, the first in the low half of <see cref="X"/>.</summary>
    public static Half8 Pack(ushort h0, ushort h1, ushort h2, ushort h3, ushort h4, ushort h5, ushort h6, ushort h7) => new()
    {
        X = h0 | (uint)h1 << 16, Y = h2 | (uint)h3 << 16, Z = h4 | (uint)h5 << 16, W = h6 | (uint)h7 << 16,
    };
}
