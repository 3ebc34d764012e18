using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Diagnostics;

/// <summary>
/// One input of an op case: its shape, storage type and the normal distribution its values are drawn from;
/// <paramref name="Filter"/>: convolution filters, packed as a model load packs them (<see cref="Backend.PackConv2dFilter"/>).
/// </summary>
public sealed record OpInput(TensorShape Shape, DType DType = DType.F32, float Mean = 0f, float Std = 1f, bool Filter = false);

/// <summary>
/// One op at one set of shapes, runnable on any backend: tests compare backends on it, benchmarks time it.
/// <see cref="Flops"/> and <see cref="Bytes"/> (minimum traffic: inputs read once, output written once) turn a time
/// into TFLOP/s and GB/s. Results must agree within |a − r| ≤ <see cref="Atol"/> + <see cref="Rtol"/>·|r|.
/// <see cref="Args"/> names the op's parameters besides its inputs (stride, heads, activation...) so that other tools
/// (the PyTorch benchmark) can run the very same case from its JSON export.
/// </summary>
public sealed record OpCase(string Family, string Name, IReadOnlyList<OpInput> Inputs, Func<Backend, IReadOnlyList<Tensor>, Tensor> Run,
    long Flops, long Bytes, double Atol, double Rtol, IReadOnlyDictionary<string, object>? Args = null)
{
    /// <summary>family/name, as tests and benchmarks print it.</summary>
    public string Id => $"{Family}/{Name}";

    /// <summary>Seeded random inputs on <paramref name="backend"/>; the same seed gives the same values on every backend.</summary>
    public Tensor[] CreateInputs(Backend backend, int seed = 1234)
    {
        var random = new Random(seed);
        var tensors = new Tensor[Inputs.Count];
        for (int i = 0; i < Inputs.Count; i++)
        {
            var input = Inputs[i];
            var values = new float[input.Shape.ElementCount];
            for (int j = 0; j < values.Length; j++) values[j] = input.Mean + input.Std * Normal(random);
            tensors[i] = backend.FromHost(values, input.Shape, input.DType);
            if (input.Filter) tensors[i] = Packed(backend, tensors[i]);
        }
        return tensors;
    }

    /// <summary>The case run once on <paramref name="backend"/> from <see cref="CreateInputs"/>'s inputs: its result's shape and values, on the host.</summary>
    public (TensorShape Shape, float[] Values) RunOnce(Backend backend, int seed = 1234)
    {
        var inputs = CreateInputs(backend, seed);
        try
        {
            using var result = Run(backend, inputs);
            return (result.Shape, result.ToArray());
        }
        finally
        {
            foreach (var t in inputs) t.Dispose();
        }
    }

    public override string ToString() => Id;

    private static Tensor Packed(Backend backend, Tensor weight)
    {
        var packed = backend.PackConv2dFilter(weight);
        if (!ReferenceEquals(packed, weight)) weight.Dispose();
        return packed;
    }

    private static float Normal(Random random)
    {
        double u = 1.0 - random.NextDouble(), v = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v));
    }
}
