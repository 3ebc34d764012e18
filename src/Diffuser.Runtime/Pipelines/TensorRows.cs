using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Pipelines;

/// <summary>Builds batches along axis 0 (the pipelines' repeats and per-image stacks), freeing every intermediate.</summary>
internal static class TensorRows
{
    /// <summary>Concatenates <paramref name="count"/> tensors made one at a time by <paramref name="make"/> (each disposed once joined).</summary>
    public static Tensor Stack(Backend backend, int count, Func<int, Tensor> make) => TensorJoin.Join(backend, count, 0, make);

    /// <summary>Each row of <paramref name="x"/> repeated <paramref name="times"/> times in place: [a, b] → [a, a, b, b].</summary>
    public static Tensor RepeatEach(Backend backend, Tensor x, int times)
    {
        int rows = x.Shape[0];
        return Stack(backend, rows * times, i =>
        {
            using var row = x.Slice(i / times, 1);
            return backend.Clone(row);
        });
    }

    /// <summary>The whole of <paramref name="x"/> repeated <paramref name="times"/> times: [a, b] → [a, b, a, b].</summary>
    public static Tensor Tile(Backend backend, Tensor x, int times) => Stack(backend, times, _ => backend.Clone(x));
}
