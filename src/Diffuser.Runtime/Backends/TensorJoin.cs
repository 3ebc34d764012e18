using Diffuser.Tensors;

namespace Diffuser.Backends;

/// <summary>Joins tensors made one at a time along one axis, freeing every intermediate.</summary>
internal static class TensorJoin
{
    /// <summary>Concatenates <paramref name="count"/> tensors made by <paramref name="make"/> along <paramref name="axis"/> (each disposed once joined).</summary>
    public static Tensor Join(Backend backend, int count, int axis, Func<int, Tensor> make)
    {
        var result = make(0);
        try
        {
            for (int i = 1; i < count; i++)
            {
                using var next = make(i);
                var joined = backend.Concat(result, next, axis);
                result.Dispose();
                result = joined;
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }
}
