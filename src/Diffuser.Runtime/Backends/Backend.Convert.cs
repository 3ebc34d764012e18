using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    /// <summary>A copy of <paramref name="x"/> stored as <paramref name="dtype"/> (fp32 ↔ fp16, round to nearest even).</summary>
    public Tensor Convert(Tensor x, DType dtype)
    {
        RequireOwn(x);
        var y = Allocate(x.Shape, dtype);
        using (Profile("convert", 0, y, x)) ConvertCore(x, y);
        return y;
    }

    /// <summary>A copy of <paramref name="x"/> in a new tensor of the same dtype.</summary>
    public Tensor Clone(Tensor x) => Convert(x, x.DType);

    protected abstract void ConvertCore(Tensor x, Tensor y);
}
