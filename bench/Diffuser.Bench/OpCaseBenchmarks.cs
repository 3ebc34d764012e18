using BenchmarkDotNet.Attributes;
using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Bench;

/// <summary>
/// One op case of <see cref="OpCases"/> (SD 1.5 shapes, or the small ones) on one device per benchmark; one class per
/// op family so that <c>--filter '*Gemm*'</c> picks a family. Each invocation runs the op and waits for the device.
/// </summary>
public abstract class OpCaseBenchmarks
{
    private Backend _backend = null!;
    private OpCase _case = null!;
    private Tensor[] _inputs = [];

    [ParamsSource(nameof(CaseIds))]
    public string Case { get; set; } = "";

    [ParamsSource(nameof(Devices))]
    public string Device { get; set; } = "cpu";

    public IEnumerable<string> CaseIds => BenchSettings.Cases.Where(c => Covers(c.Family)).Select(c => c.Id);

    public IEnumerable<string> Devices => BenchSettings.Devices;

    /// <summary>Whether this class benchmarks the op family <paramref name="family"/>.</summary>
    protected abstract bool Covers(string family);

    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendFactory.Create(Device);
        _case = BenchSettings.Case(Case);
        _inputs = _case.CreateInputs(_backend);
    }

    [Benchmark]
    public void Run()
    {
        _case.Run(_backend, _inputs).Dispose();
        _backend.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _inputs) t.Dispose();
        _backend.Dispose();
    }
}

public class GemmBenchmarks : OpCaseBenchmarks
{
    protected override bool Covers(string family) => family == "gemm";
}

public class Conv2dBenchmarks : OpCaseBenchmarks
{
    protected override bool Covers(string family) => family == "conv2d";
}

public class NormBenchmarks : OpCaseBenchmarks
{
    protected override bool Covers(string family) => family is "group_norm" or "layer_norm";
}

public class AttentionBenchmarks : OpCaseBenchmarks
{
    protected override bool Covers(string family) => family == "attention";
}

/// <summary>Every other family: activations, binary ops, biases, GEGLU, layout, resampling, embeddings, conversion.</summary>
public class ElementwiseBenchmarks : OpCaseBenchmarks
{
    protected override bool Covers(string family) => family is not ("gemm" or "conv2d" or "group_norm" or "layer_norm" or "attention");
}
