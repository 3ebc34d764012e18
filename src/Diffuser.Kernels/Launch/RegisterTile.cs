using Diffuser.Kernels.Elementwise;
using ILGPU;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// Eight floats that live in registers. ILGPU keeps struct fields in registers but turns indexed local arrays into
/// slow local memory and does not unroll loops, so register tiles are spelled out field by field.
/// </summary>
public struct Row8
{
    public float V0, V1, V2, V3, V4, V5, V6, V7;

    /// <summary>Loads s[offset + i·stride] for i = 0..7.</summary>
    public static Row8 Load(ArrayView<float> s, int offset, int stride) => new()
    {
        V0 = s[offset], V1 = s[offset + stride], V2 = s[offset + 2 * stride], V3 = s[offset + 3 * stride],
        V4 = s[offset + 4 * stride], V5 = s[offset + 5 * stride], V6 = s[offset + 6 * stride], V7 = s[offset + 7 * stride],
    };

    /// <summary>Stores the values to s[offset + i·stride].</summary>
    public readonly void Store(ArrayView<float> s, int offset, int stride)
    {
        s[offset] = V0; s[offset + stride] = V1; s[offset + 2 * stride] = V2; s[offset + 3 * stride] = V3;
        s[offset + 4 * stride] = V4; s[offset + 5 * stride] = V5; s[offset + 6 * stride] = V6; s[offset + 7 * stride] = V7;
    }

    /// <summary>Quads <paramref name="index"/> and index + 1 of <paramref name="s"/>: two 16-byte loads.</summary>
    public static Row8 Load(ArrayView<Float4> s, int index)
    {
        Float4 low = s[index], high = s[index + 1];
        return new() { V0 = low.X, V1 = low.Y, V2 = low.Z, V3 = low.W, V4 = high.X, V5 = high.Y, V6 = high.Z, V7 = high.W };
    }

    /// <summary>Stores the values to quads <paramref name="index"/> and index + 1 of <paramref name="s"/>: two 16-byte stores.</summary>
    public readonly void Store(ArrayView<Float4> s, int index)
    {
        s[index] = new Float4 { X = V0, Y = V1, Z = V2, W = V3 };
        s[index + 1] = new Float4 { X = V4, Y = V5, Z = V6, W = V7 };
    }

    /// <summary>Elements first … first + 7 of <paramref name="view"/>, those from <paramref name="count"/> on 0 (not read).</summary>
    public static Row8 Load<T>(T view, int first, int count) where T : struct, IElementView<T> => new()
    {
        V0 = 0 < count ? view.Load(first) : 0f, V1 = 1 < count ? view.Load(first + 1) : 0f,
        V2 = 2 < count ? view.Load(first + 2) : 0f, V3 = 3 < count ? view.Load(first + 3) : 0f,
        V4 = 4 < count ? view.Load(first + 4) : 0f, V5 = 5 < count ? view.Load(first + 5) : 0f,
        V6 = 6 < count ? view.Load(first + 6) : 0f, V7 = 7 < count ? view.Load(first + 7) : 0f,
    };

    /// <summary>
    /// One step of a loop over <paramref name="width"/> adjacent elements (1, or 8 from a multiple of 8 in a 16-byte
    /// aligned view; a kernel constant, so one of the two is compiled): one 16-byte load for eight fp16 elements, or V0
    /// alone (the rest 0).
    /// </summary>
    public static Row8 LoadStep<T>(T view, int index, int width) where T : struct, IElementView<T> =>
        width == 8 ? view.LoadEight(index) : Load(view, index, 1);

    /// <summary>Stores the step's elements (as <see cref="LoadStep"/>).</summary>
    public readonly void StoreStep<T>(T view, int index, int width) where T : struct, IElementView<T>
    {
        if (width == 8) view.StoreEight(index, this);
        else view.Store(index, V0);
    }

    /// <summary>The values of a step of <paramref name="width"/> elements (as <see cref="LoadStep"/>), the others 0.</summary>
    public readonly Row8 Prefix(int width) => width == 8 ? this : new() { V0 = V0 };

    public readonly float Sum() => V0 + V1 + V2 + V3 + V4 + V5 + V6 + V7;

    public readonly Row8 Times(float a) => new()
    {
        V0 = a * V0, V1 = a * V1, V2 = a * V2, V3 = a * V3, V4 = a * V4, V5 = a * V5, V6 = a * V6, V7 = a * V7,
    };

    public readonly Row8 Times(in Row8 b) => new()
    {
        V0 = V0 * b.V0, V1 = V1 * b.V1, V2 = V2 * b.V2, V3 = V3 * b.V3, V4 = V4 * b.V4, V5 = V5 * b.V5, V6 = V6 * b.V6, V7 = V7 * b.V7,
    };

    public readonly Row8 Plus(float b) => new()
    {
        V0 = V0 + b, V1 = V1 + b, V2 = V2 + b, V3 = V3 + b, V4 = V4 + b, V5 = V5 + b, V6 = V6 + b, V7 = V7 + b,
    };

    public readonly Row8 Plus(in Row8 b) => new()
    {
        V0 = V0 + b.V0, V1 = V1 + b.V1, V2 = V2 + b.V2, V3 = V3 + b.V3, V4 = V4 + b.V4, V5 = V5 + b.V5, V6 = V6 + b.V6, V7 = V7 + b.V7,
    };

    public readonly Row8 Activated(ActivationKind kind) => new()
    {
        V0 = ActivationMath.Apply(V0, kind), V1 = ActivationMath.Apply(V1, kind), V2 = ActivationMath.Apply(V2, kind),
        V3 = ActivationMath.Apply(V3, kind), V4 = ActivationMath.Apply(V4, kind), V5 = ActivationMath.Apply(V5, kind),
        V6 = ActivationMath.Apply(V6, kind), V7 = ActivationMath.Apply(V7, kind),
    };

    /// <summary>this += a · b.</summary>
    public void Fma(float a, in Row8 b)
    {
        V0 += a * b.V0; V1 += a * b.V1; V2 += a * b.V2; V3 += a * b.V3;
        V4 += a * b.V4; V5 += a * b.V5; V6 += a * b.V6; V7 += a * b.V7;
    }
}

/// <summary>
/// Receives the output elements of a product tile (the fused epilogue of GEMM and convolution): one at a time
/// (<see cref="Store"/>, a register tile's scattered elements), or eight adjacent columns at a time as the tensor-core
/// store hands them (each lane stores 16 rows of a column chunk): <see cref="BindChunk"/> does once what depends on
/// the columns alone (their biases, a convolution's image and pixel), <see cref="LoadChunk"/> reads what a row adds
/// (its biases, and with output rows of whole 16-byte chunks, the shapes' <c>ChunkedStores</c>, the residual's eight
/// in one 16-byte load), then <see cref="StoreChunk"/> stores the row's eight. A lane loads the inputs of all the rows
/// it has at hand before it stores any: ptxas cannot move a load above a store that may alias it, so loads made
/// row by row wait on memory one after another (16 waits a lane in a tile; now 4, one per staged m16 tile).
/// </summary>
public interface ITileEpilogue
{
    void Store(int row, int col, float acc);

    /// <summary>Binds columns <paramref name="col"/> … col + 7 (col a multiple of 8).</summary>
    void BindChunk(int col);

    /// <summary>
    /// What row <paramref name="row"/> of the bound columns adds to its sums; past the product's rows or columns,
    /// whatever lies at its last ones (read without a test, unused: <see cref="StoreChunk"/> stores nothing there).
    /// </summary>
    ChunkInputs LoadChunk(int row);

    /// <summary>The bound columns' elements of row <paramref name="row"/>, with its <paramref name="inputs"/> (from <see cref="LoadChunk"/>).</summary>
    void StoreChunk(int row, in Row8 acc, in ChunkInputs inputs);
}

/// <summary>
/// What a row of an epilogue's bound columns reads besides its sums: a bias of the row and a second one (a
/// convolution's bias per filter and per filter and sample), and the residual's eight values; 0 where the epilogue
/// has none, or reads them element by element itself (outputs not in 16-byte chunks).
/// </summary>
public struct ChunkInputs
{
    public float Bias, SecondBias;
    public Row8 Residual;
}

/// <summary>
/// Receives a product tile whose 128 columns are 64 value columns followed by their 64 gate columns (GEGLU fused into
/// the GEMM): <c>col</c> is the value's column, the gate's is col + 64. The tensor-core store hands
/// over eight adjacent values and their gates at a time (<see cref="BindGatedChunk"/>, then <see cref="StoreGatedChunk"/>).
/// </summary>
public interface IGatedEpilogue
{
    void StoreGated(int row, int col, float value, float gate);

    /// <summary>Binds value columns <paramref name="col"/> … col + 7 (col a multiple of 8) and their gates.</summary>
    void BindGatedChunk(int col);

    /// <summary>The bound values of row <paramref name="row"/> and their gates.</summary>
    void StoreGatedChunk(int row, in Row8 values, in Row8 gates);
}

/// <summary>
/// An 8×8 register tile of a 128×128 output tile: this thread owns rows row0 + 16·i and columns col0 + 16·j,
/// so a half-warp reads 16 consecutive shared-memory words (no bank conflicts) and writes 16 consecutive outputs.
/// </summary>
public struct MicroTile8x8
{
    public Row8 R0, R1, R2, R3, R4, R5, R6, R7;

    /// <summary>Adds tileA[k, row0 + 16i] · tileB[k, col0 + 16j] over k &lt; depth (tiles stored k-major with leading dimension ld).</summary>
    public void Accumulate(ArrayView<float> tileA, ArrayView<float> tileB, int ld, int depth, int row0, int col0)
    {
        for (int k = 0; k < depth; k++)
        {
            var a = Row8.Load(tileA, k * ld + row0, 16);
            var b = Row8.Load(tileB, k * ld + col0, 16);
            R0.Fma(a.V0, b); R1.Fma(a.V1, b); R2.Fma(a.V2, b); R3.Fma(a.V3, b);
            R4.Fma(a.V4, b); R5.Fma(a.V5, b); R6.Fma(a.V6, b); R7.Fma(a.V7, b);
        }
    }

    public readonly void Store<T>(ref T epilogue, int row0, int col0) where T : struct, ITileEpilogue
    {
        StoreRow(ref epilogue, R0, row0, col0); StoreRow(ref epilogue, R1, row0 + 16, col0);
        StoreRow(ref epilogue, R2, row0 + 32, col0); StoreRow(ref epilogue, R3, row0 + 48, col0);
        StoreRow(ref epilogue, R4, row0 + 64, col0); StoreRow(ref epilogue, R5, row0 + 80, col0);
        StoreRow(ref epilogue, R6, row0 + 96, col0); StoreRow(ref epilogue, R7, row0 + 112, col0);
    }

    private static void StoreRow<T>(ref T e, in Row8 r, int row, int col) where T : struct, ITileEpilogue
    {
        e.Store(row, col, r.V0); e.Store(row, col + 16, r.V1); e.Store(row, col + 32, r.V2); e.Store(row, col + 48, r.V3);
        e.Store(row, col + 64, r.V4); e.Store(row, col + 80, r.V5); e.Store(row, col + 96, r.V6); e.Store(row, col + 112, r.V7);
    }

    /// <summary>
    /// Column j &lt; 4 of each row is a value whose gate is column j + 4 (64 columns on): the thread holds both.
    /// </summary>
    public readonly void StoreGated<T>(ref T epilogue, int row0, int col0) where T : struct, IGatedEpilogue
    {
        StoreGatedRow(ref epilogue, R0, row0, col0); StoreGatedRow(ref epilogue, R1, row0 + 16, col0);
        StoreGatedRow(ref epilogue, R2, row0 + 32, col0); StoreGatedRow(ref epilogue, R3, row0 + 48, col0);
        StoreGatedRow(ref epilogue, R4, row0 + 64, col0); StoreGatedRow(ref epilogue, R5, row0 + 80, col0);
        StoreGatedRow(ref epilogue, R6, row0 + 96, col0); StoreGatedRow(ref epilogue, R7, row0 + 112, col0);
    }

    private static void StoreGatedRow<T>(ref T e, in Row8 r, int row, int col) where T : struct, IGatedEpilogue
    {
        e.StoreGated(row, col, r.V0, r.V4); e.StoreGated(row, col + 16, r.V1, r.V5);
        e.StoreGated(row, col + 32, r.V2, r.V6); e.StoreGated(row, col + 48, r.V3, r.V7);
    }
}
