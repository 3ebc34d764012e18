using Diffuser.Backends.Cpu;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Tests.Benchmarks;

/// <summary>The backend's op profiler: one record per public op call, FLOPs from the shape structs, bytes from the tensors.</summary>
public sealed class OpProfilerTests : IDisposable
{
    private readonly CpuBackend _backend = new();

    private Tensor Random(params int[] dims)
    {
        var shape = new TensorShape(dims);
        var values = new float[shape.ElementCount];
        for (int i = 0; i < values.Length; i++) values[i] = (i * 37 % 101 - 50) / 50f;
        return _backend.FromHost(values, shape);
    }

    [Fact]
    public void GemmIsRecordedWithItsFlopsBytesAndShapes()
    {
        using var a = Random(2, 5, 7);
        using var b = Random(7, 3);
        using var bias = Random(3);
        var profiler = new OpProfiler { Section = "test" };
        _backend.Profiler = profiler;
        using var c = _backend.Gemm(a, b, bias: bias);
        _backend.Profiler = null;

        var record = Assert.Single(profiler.Records);
        Assert.Equal("gemm", record.Op);
        Assert.Equal(2L * 2 * 5 * 3 * 7, record.Flops);
        Assert.Equal(4L * (2 * 5 * 7 + 7 * 3 + 3 + 2 * 5 * 3), record.Bytes);
        Assert.Equal("[2, 5, 7] × [7, 3] × [3] → [2, 5, 3]", record.Shapes);
        Assert.Equal("test", record.Section);
        Assert.True(record.Seconds >= 0);
    }

    [Fact]
    public void OpsThatCallOtherOpsAreRecordedOnceAndNothingIsRecordedWhenDetached()
    {
        using var x = Random(4, 6);
        using var weight = Random(5, 6);
        var profiler = new OpProfiler();
        _backend.Profiler = profiler;
        using (var y = _backend.Linear(x, weight)) { }              // Linear is a Gemm: one record
        using (var t = _backend.FromHost([1f, 2f], new TensorShape(2))) { }
        _backend.Profiler = null;
        using (var z = _backend.Linear(x, weight)) { }
        Assert.Equal(["gemm", "upload"], profiler.Records.Select(r => r.Op));
        Assert.Equal(2L * 4 * 5 * 6, profiler.Records[0].Flops);
        Assert.Equal(8, profiler.Records[1].Bytes);
    }

    [Fact]
    public void AttentionCountsOnlyTheVisiblePairsWhenCausal()
    {
        using var q = Random(1, 6, 8);
        var profiler = new OpProfiler();
        _backend.Profiler = profiler;
        using (var full = _backend.Attention(q, q, q, heads: 2)) { }
        using (var causal = _backend.Attention(q, q, q, heads: 2, causal: true)) { }
        _backend.Profiler = null;
        // 2·D multiply-adds (4·D FLOPs) per query–key pair and head: 36 pairs, or 21 on or below the diagonal.
        Assert.Equal([4L * 2 * 36 * 4, 4L * 2 * 21 * 4], profiler.Records.Select(r => r.Flops));
    }

    [Fact]
    public void SummariesGroupByOpAndByShape()
    {
        OpRecord[] records =
        [
            new("gemm", "a", 100, 10, 0.5, ""), new("gemm", "b", 300, 30, 1.5, ""), new("gemm", "a", 100, 10, 0.5, ""),
            new("add", "a", 5, 15, 0.25, ""),
        ];
        var byOp = OpProfiler.ByOp(records);
        Assert.Equal(["gemm", "add"], byOp.Select(s => s.Op));
        Assert.Equal((3, 2.5, 500L, 50L), (byOp[0].Count, byOp[0].Seconds, byOp[0].Flops, byOp[0].Bytes));
        Assert.Equal(200, byOp[0].GflopsPerSecond * 1e9 / 1, 6);
        var byShape = OpProfiler.ByShape(records);
        Assert.Equal([("gemm", "b", 1), ("gemm", "a", 2), ("add", "a", 1)], byShape.Select(s => (s.Op, s.Shapes!, s.Count)));
        Assert.Equal(505, OpProfiler.Total(records).Flops);
    }

    public void Dispose() => _backend.Dispose();
}
