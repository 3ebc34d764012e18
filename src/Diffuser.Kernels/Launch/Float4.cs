using System.Runtime.InteropServices;

namespace Diffuser.Kernels.Launch;

/// <summary>Four floats (16 bytes: one vectorised load or store).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct Float4
{
    public float X, Y, Z, W;
}
