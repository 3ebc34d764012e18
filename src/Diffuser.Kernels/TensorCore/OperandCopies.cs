using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// How the tensor-core kernels move operand chunks with 16-byte rows into shared memory: a type argument of the
/// kernel, so each choice compiles to its own code with nothing tested at run time.
/// </summary>
public interface IOperandCopies
{
    /// <summary>Whether such chunks go straight from global to shared memory (cp.async), else through registers.</summary>
    bool Async { get; }

    /// <summary>
    /// With <see cref="Async"/>: starts copying the 16 bytes at global address <paramref name="source"/> to chunk
    /// <paramref name="slot"/> of the dynamic shared memory <paramref name="shared"/> of a GEMM or convolution, zeros
    /// when not <paramref name="inside"/> (then nothing is read).
    /// </summary>
    void Chunk(ArrayView<Half8> shared, int slot, long source, bool inside);

    /// <summary>As <see cref="Chunk"/>, in the tensor-core attention.</summary>
    void AttentionChunk(ArrayView<Half8> shared, int slot, long source, bool inside);
}

/// <summary>cp.async (sm_80 and later; what the launchers use unless told otherwise).</summary>
public readonly struct AsyncCopies : IOperandCopies
{
    public bool Async => true;

    public void Chunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.Chunk(slot * 16, source, inside);

    public void AttentionChunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.AttentionChunk(slot * 16, source, inside);
}

/// <summary>
/// What <see cref="AsyncCopies"/> does, on ILGPU's CPU accelerator: each copy at once, from the very address and
/// under the very predicate the GPU's cp.async gets, so tests there check the copies' addressing too.
/// </summary>
public readonly struct EmulatedAsyncCopies : IOperandCopies
{
    public bool Async => true;

    public void Chunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.AtOnce(shared, slot, source, inside);

    public void AttentionChunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.AtOnce(shared, slot, source, inside);
}

/// <summary>
/// Loads into registers a stage ahead, stored when the stage comes (the fallback: DIFFUSER_CP_ASYNC=0). The kernels
/// never call its copies (<see cref="Async"/> is false); they would copy at once.
/// </summary>
public readonly struct RegisterCopies : IOperandCopies
{
    public bool Async => false;

    public void Chunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.AtOnce(shared, slot, source, inside);

    public void AttentionChunk(ArrayView<Half8> shared, int slot, long source, bool inside) => AsyncCopy.AtOnce(shared, slot, source, inside);
}
