namespace Diffuser.Backends;

/// <summary>Element-wise functions that ops apply on their own or as a fused epilogue.</summary>
public enum Activation
{
    None,
    Silu,
    /// <summary>Exact GELU, x·Φ(x), with erf.</summary>
    GeluErf,
    /// <summary>GELU's tanh approximation.</summary>
    GeluTanh,
    /// <summary>CLIP's x·σ(1.702x).</summary>
    QuickGelu,
    Relu,
    Sigmoid,
    Tanh,
    Exp,
}

/// <summary>Zero padding on each side of an image, in pixels.</summary>
public readonly record struct Padding2d(int Top, int Left, int Bottom, int Right)
{
    public static Padding2d Same(int p) => new(p, p, p, p);
    public static readonly Padding2d None = new(0, 0, 0, 0);
}
