namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// How the tensor-core kernels move operand chunks with 16-byte rows into shared memory: a type argument of the
/// kernel, so each choice compiles to its own code with nothing tested at run time.
/// </summary>
public interface IOperandCopies
{
    /// <summary>Whether such chunks go straight from global to shared memory (cp.async), else through registers.</summary>
    bool Async { get; }
}

/// <summary>cp.async (sm_80 and later; what the launchers use unless told otherwise).</summary>
public readonly struct AsyncCopies : IOperandCopies
{
    public bool Async => true;
}

/// <summary>Loads into registers a stage ahead, stored when the stage comes (the fallback: DIFFUSER_CP_ASYNC=0).</summary>
public readonly struct RegisterCopies : IOperandCopies
{
    public bool Async => false;
}
