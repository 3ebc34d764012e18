using Diffuser.Backends;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Benchmarks;

/// <summary>A shapes-only backend and a component's shapes as weights; <see cref="Count"/> runs one pass.</summary>
internal sealed class ShapePass(string modelFolder, string component, string weightsName) : IDisposable
{
    public MetaBackend Meta { get; } = new(shapesFlow: true);
    public SyntheticWeightSource Source { get; } = new(SyntheticPipeline.ShapesOf(modelFolder, component, weightsName), fill: false);

    public long Count(Func<Tensor> pass) => Record(pass).Sum(r => r.Flops);

    public IReadOnlyList<OpRecord> Record(Func<Tensor> pass)
    {
        var profiler = new OpProfiler();
        Meta.Profiler = profiler;
        pass().Dispose();
        Meta.Profiler = null;
        return profiler.Records;
    }

    public void Dispose()
    {
        Source.Dispose();
        Meta.Dispose();
    }
}
