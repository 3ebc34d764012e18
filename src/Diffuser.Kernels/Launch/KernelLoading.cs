using System.Linq.Expressions;
using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Runtime;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// ILGPU's <c>LoadStreamKernel</c> for the launchers' kernels (explicitly grouped, launched on the default stream),
/// through the accelerator's <see cref="KernelCache"/> when it has one; without one, ILGPU's own loader as it is.
/// </summary>
public static class KernelLoading
{
    public static Action<KernelConfig, T1, T2, T3> LoadStream<T1, T2, T3>(this Accelerator accelerator, Action<T1, T2, T3> kernel) where T1 : struct where T2 : struct where T3 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4> LoadStream<T1, T2, T3, T4>(this Accelerator accelerator, Action<T1, T2, T3, T4> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5> LoadStream<T1, T2, T3, T4, T5>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6> LoadStream<T1, T2, T3, T4, T5, T6>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7> LoadStream<T1, T2, T3, T4, T5, T6, T7>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6, T7> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8> LoadStream<T1, T2, T3, T4, T5, T6, T7, T8>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6, T7, T8> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9> LoadStream<T1, T2, T3, T4, T5, T6, T7, T8, T9>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> LoadStream<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>>(accelerator, kernel.Method);

    public static Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> LoadStream<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(this Accelerator accelerator, Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel) where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct =>
        KernelCache.Of(accelerator) is null ? accelerator.LoadStreamKernel(kernel) : OnDefaultStream<Action<KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>>(accelerator, kernel.Method);

    /// <summary>
    /// The launcher of explicitly grouped <paramref name="kernel"/> (a generic method made concrete): <typeparamref name="TDelegate"/>
    /// takes the stream, the KernelConfig, then the kernel's parameters, as ILGPU's <c>Accelerator.LoadKernel&lt;TDelegate&gt;</c>
    /// loads it; for <paramref name="forSm90a"/>, with its PTX retargeted to sm_90a (<see cref="Sm90aKernels"/>).
    /// </summary>
    public static TDelegate Load<TDelegate>(Accelerator accelerator, MethodInfo kernel, bool forSm90a = false) where TDelegate : Delegate
    {
        var cache = KernelCache.Of(accelerator);
        if (cache is null && !forSm90a) return accelerator.LoadKernel<TDelegate>(kernel);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var loader = new CachingLoader(cache, forSm90a);
        if (!entry.HasSpecializedParameters) return loader.LoadUnspecialized<TDelegate>(accelerator, kernel, entry);
        var specialising = loader.SpecialisingLauncher<TDelegate>(accelerator, entry);
        return cache is null ? specialising.Value : new SpecializedLaunchers<TDelegate>(accelerator, kernel, entry, cache, forSm90a, specialising).Launcher;
    }

    /// <summary><paramref name="kernel"/>'s launcher on the accelerator's default stream (<typeparamref name="TLauncher"/>: KernelConfig, then the kernel's parameters).</summary>
    private static TLauncher OnDefaultStream<TLauncher>(Accelerator accelerator, MethodInfo kernel) where TLauncher : Delegate
    {
        var parameters = ParametersOf<TLauncher>();
        var streamFirst = Expression.GetActionType([typeof(AcceleratorStream), .. parameters.Select(p => p.Type)]);
        var launcher = (Delegate)LoadMethod.MakeGenericMethod(streamFirst).Invoke(null, [accelerator, kernel, false])!;
        var stream = Expression.Property(Expression.Constant(accelerator), nameof(Accelerator.DefaultStream));
        return Expression.Lambda<TLauncher>(Expression.Invoke(Expression.Constant(launcher), [stream, .. parameters]), parameters).Compile();
    }

    private static readonly MethodInfo LoadMethod = typeof(KernelLoading).GetMethod(nameof(Load))!;

    private static ParameterExpression[] ParametersOf<TDelegate>() where TDelegate : Delegate =>
        [.. typeof(TDelegate).GetMethod("Invoke")!.GetParameters().Select(p => Expression.Parameter(p.ParameterType, p.Name))];

    /// <summary>The kernel of <paramref name="key"/> from <paramref name="cache"/>, launchable; null if it has none (or one the driver refuses, which it forgets).</summary>
    private static TDelegate? FromCache<TDelegate>(Accelerator accelerator, KernelCache cache, in EntryPointDescription entry, string key) where TDelegate : Delegate
    {
        var compiled = cache.TryLoad(accelerator, entry, key);
        if (compiled is null) return null;
        try
        {
            return accelerator.LoadKernel(compiled).CreateLauncherDelegate<TDelegate>();
        }
        catch (ILGPU.Runtime.Cuda.CudaException)
        {
            cache.Remove(key);
            return null;
        }
    }

    /// <summary>
    /// The key under which the kernel that ILGPU compiles next on this thread is kept: set by a launch of values the
    /// cache did not have, taken by <see cref="CachingLoader"/> when ILGPU hands it the compiled kernel.
    /// </summary>
    [ThreadStatic] private static string? t_missedKey;

    /// <summary>ILGPU's loader of explicitly grouped kernels, which keeps what ILGPU compiled in the cache and retargets it first where asked.</summary>
    private readonly struct CachingLoader(KernelCache? cache, bool forSm90a) : Accelerator.IKernelLoader
    {
        public int GroupSize => 0;

        public Kernel LoadKernel(Accelerator accelerator, CompiledKernel compiledKernel, out KernelInfo? kernelInfo)
        {
            string? key = t_missedKey;
            t_missedKey = null;
            var compiled = forSm90a ? Sm90aKernels.Retargeted(compiledKernel) : compiledKernel;
            if (key is not null) cache?.Save(key, compiled);
            kernelInfo = KernelInfo.CreateFrom(compiled.Info, null, null);
            return accelerator.LoadKernel(compiled);
        }

        /// <summary>ILGPU's launcher that specialises <paramref name="entry"/> on each new set of values, made on first use.</summary>
        public Lazy<TDelegate> SpecialisingLauncher<TDelegate>(Accelerator accelerator, EntryPointDescription entry) where TDelegate : Delegate
        {
            var loader = this;
            return new(() => Kernel.CreateSpecializedLauncher<TDelegate, CachingLoader>(accelerator, entry, KernelSpecialization.Empty,
                accelerator.Backend().PreCompileKernelMethod(entry), loader));
        }

        /// <summary>A kernel without SpecializedValue parameters: from the cache, else compiled (and kept).</summary>
        public TDelegate LoadUnspecialized<TDelegate>(Accelerator accelerator, MethodInfo kernel, in EntryPointDescription entry) where TDelegate : Delegate
        {
            string key = KernelCache.KeyOf(accelerator, kernel, forSm90a, []);
            if (cache is not null && FromCache<TDelegate>(accelerator, cache, entry, key) is { } cached) return cached;
            t_missedKey = key;
            return LoadKernel(accelerator, accelerator.CompileKernel(entry), out _).CreateLauncherDelegate<TDelegate>();
        }
    }

    /// <summary>
    /// The launcher of a specialised kernel through the cache: each set of SpecializedValue arguments loads its kernel
    /// from the cache the first time it is launched, or else has ILGPU's specialising launcher compile it (and the
    /// loader keep it).
    /// </summary>
    private sealed class SpecializedLaunchers<TDelegate> where TDelegate : Delegate
    {
        private readonly Accelerator _accelerator;
        private readonly MethodInfo _kernel;
        private readonly EntryPointDescription _entry;
        private readonly KernelCache _cache;
        private readonly bool _forSm90a;
        private readonly Lazy<TDelegate> _specialising;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<SpecializedValues, TDelegate> _launchers = new();

        public SpecializedLaunchers(Accelerator accelerator, MethodInfo kernel, EntryPointDescription entry, KernelCache cache, bool forSm90a, Lazy<TDelegate> specialising)
        {
            (_accelerator, _kernel, _entry, _cache, _forSm90a, _specialising) = (accelerator, kernel, entry, cache, forSm90a, specialising);
            // (stream, config, args...) => For(new object[] { the SpecializedValue args })(stream, config, args...): the
            // delegate's parameters are the stream, the config, then the kernel's.
            var parameters = ParametersOf<TDelegate>();
            var values = Expression.NewArrayInit(typeof(object),
                entry.Parameters.SpecializedParameters.Select(s => Expression.Convert(parameters[2 + s.Index], typeof(object))));
            Launcher = Expression.Lambda<TDelegate>(Expression.Invoke(Expression.Call(Expression.Constant(this), nameof(For), null, values), parameters), parameters).Compile();
        }

        public TDelegate Launcher { get; }

        public TDelegate For(object[] values)
        {
            var specialised = new SpecializedValues(values);
            if (_launchers.TryGetValue(specialised, out var launcher)) return launcher;
            string key = KernelCache.KeyOf(_accelerator, _kernel, _forSm90a, values);
            var cached = FromCache<TDelegate>(_accelerator, _cache, _entry, key);
            t_missedKey = cached is null ? key : null;
            return _launchers.GetOrAdd(specialised, cached ?? _specialising.Value);
        }
    }

    /// <summary>A launch's SpecializedValue arguments, compared by value.</summary>
    private sealed class SpecializedValues(object[] values) : IEquatable<SpecializedValues>
    {
        private readonly object[] _values = values;

        public bool Equals(SpecializedValues? other) => other is not null && _values.SequenceEqual(other._values);

        public override bool Equals(object? obj) => Equals(obj as SpecializedValues);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (object value in _values) hash.Add(value);
            return hash.ToHashCode();
        }
    }
}
