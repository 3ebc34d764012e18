using System.Diagnostics;
using System.Text;
using Diffuser.Diagnostics;
using Diffuser.Tensors;

namespace Diffuser.Backends;

public abstract partial class Backend
{
    private int _profileDepth;

    /// <summary>
    /// When set, every public op is recorded into it (family, shapes, FLOPs, bytes, time); the device is synchronised
    /// before and after each op so that its time is its own. Null (the default) costs one null check per op.
    /// </summary>
    public OpProfiler? Profiler { get; set; }

    /// <summary>
    /// The one profiling wrapper: <c>using (Profile("gemm", flops, c, a, b)) GemmCore(...)</c>. Bytes are the sizes of
    /// <paramref name="output"/> and <paramref name="inputs"/> (each read or written once). Ops that run other ops
    /// inside their core (an upload of timesteps, say) are recorded once, as the outer op.
    /// </summary>
    protected OpScope Profile(string op, long flops, Tensor output, params ReadOnlySpan<Tensor?> inputs)
    {
        if (Profiler is null || _profileDepth > 0) return default;
        long bytes = output.Length * output.DType.SizeInBytes();
        var shapes = new StringBuilder();
        foreach (var t in inputs)
        {
            if (t is null) continue;
            bytes += t.Length * t.DType.SizeInBytes();
            shapes.Append(shapes.Length == 0 ? "" : " × ").Append(t.Shape);
        }
        shapes.Append(shapes.Length == 0 ? "→ " : " → ").Append(output.Shape);
        return Start(Profiler, op, shapes.ToString(), flops, bytes);
    }

    /// <summary>The wrapper for ops whose traffic is not their tensors' sizes (a gather, several outputs).</summary>
    protected OpScope Profile(string op, long flops, long bytes, TensorShape output) =>
        Profiler is null || _profileDepth > 0 ? default : Start(Profiler, op, $"→ {output}", flops, bytes);

    private OpScope Start(OpProfiler profiler, string op, string shapes, long flops, long bytes)
    {
        Synchronize();
        _profileDepth++;
        return new OpScope(this, profiler, op, shapes, flops, bytes, Stopwatch.GetTimestamp());
    }

    /// <summary>An op being timed; disposing it waits for the device and records the op.</summary>
    protected readonly struct OpScope : IDisposable
    {
        private readonly Backend? _backend;
        private readonly OpProfiler? _profiler;
        private readonly string _op, _shapes;
        private readonly long _flops, _bytes, _start;

        internal OpScope(Backend backend, OpProfiler profiler, string op, string shapes, long flops, long bytes, long start)
        {
            (_backend, _profiler, _op, _shapes, _flops, _bytes, _start) = (backend, profiler, op, shapes, flops, bytes, start);
        }

        public void Dispose()
        {
            if (_backend is null) return;
            _backend._profileDepth--;
            _backend.Synchronize();
            _profiler!.Record(_op, _shapes, _flops, _bytes, Stopwatch.GetElapsedTime(_start).TotalSeconds);
        }
    }
}
