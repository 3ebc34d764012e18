namespace Diffuser.Kernels.Elementwise;

/// <summary>Element-wise functions, as kernels receive them (an int-backed enum is a valid kernel argument).</summary>
public enum ActivationKind
{
    None = 0,
    Silu = 1,
    GeluErf = 2,
    GeluTanh = 3,
    QuickGelu = 4,
    Relu = 5,
    Sigmoid = 6,
    Tanh = 7,
    Exp = 8,
}
