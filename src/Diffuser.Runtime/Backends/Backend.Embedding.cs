using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>Sinusoidal timestep embedding [T, dim] as diffusers' get_timestep_embedding computes it, always in fp32.</summary>
    public Tensor TimestepEmbedding(ReadOnlySpan<float> timesteps, int dim, bool flipSinToCos, float downscaleFreqShift,
        float scale = 1f, int maxPeriod = 10000)
    {
        if (dim < 2) throw Shape("TimestepEmbedding", $"dimension must be ≥ 2, got {dim}");
        var y = Allocate(new TensorShape(timesteps.Length, dim));
        using (Profile("timestep_embedding", y.Length, y)) TimestepEmbeddingCore(timesteps, y, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod);
        return y;
    }

    /// <summary>Token embedding plus position embedding: ids [B, L] → table[ids] + positions[0..L) as [B, L, hidden].</summary>
    public Tensor TokenEmbedding(ReadOnlySpan<int> ids, int batch, Tensor table, Tensor? positions)
    {
        var dtype = RequireSameDType("TokenEmbedding", table, positions);
        if (table.Rank != 2) throw Shape("TokenEmbedding", $"table must be [vocab, hidden], got {table.Shape}");
        if (batch < 1 || ids.Length % batch != 0) throw Shape("TokenEmbedding", $"{ids.Length} ids do not split into {batch} sequences");
        int length = ids.Length / batch, vocab = table.Shape[0], hidden = table.Shape[1];
        foreach (int id in ids)
            if (id < 0 || id >= vocab) throw Shape("TokenEmbedding", $"token id {id} is outside the vocabulary of {vocab}");
        if (positions is not null)
        {
            if (positions.Rank != 2 || positions.Shape[1] != hidden || positions.Shape[0] < length)
                throw Shape("TokenEmbedding", $"positions {positions.Shape} cannot cover {length} tokens of width {hidden}");
        }
        var y = Allocate(new TensorShape(batch, length, hidden), dtype);
        // Traffic: the gathered table rows and the position rows read, the output written (not the whole table).
        using (Profile("token_embedding", y.Length, (positions is null ? 2 : 3) * y.Length * dtype.SizeInBytes(), y.Shape)) TokenEmbeddingCore(ids, table, positions, y, length, hidden);
        return y;
    }

    protected abstract void TimestepEmbeddingCore(ReadOnlySpan<float> timesteps, Tensor y, int dim, bool flipSinToCos,
        float downscaleFreqShift, float scale, int maxPeriod);
    protected abstract void TokenEmbeddingCore(ReadOnlySpan<int> ids, Tensor table, Tensor? positions, Tensor y, int length, int hidden);
}
