using System.Collections.Concurrent;
using Diffuser.Backends;
using Diffuser.Pipelines;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Pipelines;

/// <summary>One test backend per test class and the shared tiny pipelines loaded on it once, on first use (fp32).</summary>
public class PipelineFixture : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<StableDiffusionPipeline>> _pipelines = new();
    private readonly DType _dtype;

    public PipelineFixture() : this(DType.F32) { }

    protected PipelineFixture(DType dtype) => _dtype = dtype;

    public Backend Backend { get; } = TestBackend.Create();

    /// <summary>The pipeline of a shared model folder (tiny-sd, tiny-sd2, tiny-digits).</summary>
    public StableDiffusionPipeline Get(string model) =>
        _pipelines.GetOrAdd(model, m => new Lazy<StableDiffusionPipeline>(() =>
            StableDiffusionPipeline.Load(TestPaths.Model(m), Backend, new PipelineOptions { DType = _dtype }))).Value;

    /// <summary>Bytes of pooled buffers currently held by tensors.</summary>
    public long InUse => Backend.Pool.BytesAllocated - Backend.Pool.BytesFree;

    public void Dispose()
    {
        foreach (var p in _pipelines.Values.Where(p => p.IsValueCreated)) p.Value.Dispose();
        Backend.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The same pipelines with fp16 weights and activations.</summary>
public sealed class HalfPipelineFixture() : PipelineFixture(DType.F16);
