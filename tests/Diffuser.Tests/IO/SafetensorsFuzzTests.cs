using System.Diagnostics;
using Diffuser.Backends;
using Diffuser.Backends.Cpu;
using Diffuser.IO;
using Diffuser.Tensors;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.IO;

/// <summary>
/// Thousands of mutants (fixed seed) of every real safetensors file under shared/ (models and goldens): opening one
/// and reading every tensor either succeeds or throws a <see cref="DiffuserException"/>; never another exception,
/// never a read outside the file, never a hang (each mutant runs under a time budget). Every eighth mutant of a
/// small file is also written to disk and opened through the memory map, which must give the same outcome.
/// </summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20251128;
    private const int SmallFileBytes = 1 << 20;
    private const int MutantsPerSmallFile = 160, MutantsPerModelFile = 120, DiskEvery = 8;
    private static readonly TimeSpan MutantBudget = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _dir = new();
    private readonly Backend _backend = new CpuBackend();

    [Fact]
    public void MutantsOpenOrFailWithDiffuserException()
    {
        var files = SharedSafetensorsTests.SharedFiles();
        var originals = files.Select(f => File.ReadAllBytes(Path.Combine(TestPaths.Shared, f))).ToArray();
        var donors = originals.Select(SafetensorsMutator.HeaderOf).ToArray();
        var rng = new Random(Seed);
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        int mutants = 0, fromDisk = 0;
        var clock = Stopwatch.StartNew();

        for (int f = 0; f < files.Count && failures.Count < 10; f++)
        {
            var mutator = new SafetensorsMutator(originals[f], donors);
            bool small = originals[f].Length <= SmallFileBytes;
            for (int i = 0; i < (small ? MutantsPerSmallFile : MutantsPerModelFile) && failures.Count < 10; i++)
            {
                var mutant = mutator.Next(rng);
                string name = $"{files[f]}#{i}";
                string outcome = RunWithBudget(() => OpenAndReadAll(mutant.Bytes, name), name, mutant, failures);
                mutants++;
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                if (mutant.HeaderIntact && outcome != "ok")
                    failures.Add($"{name} ({mutant.Description}): only tensor bytes changed, yet it failed with {outcome}");
                if (small && i % DiskEvery == 0)
                {
                    string path = _dir.Write("mutant.safetensors", mutant.Bytes.ToArray());
                    string onDisk = RunWithBudget(() => OpenAndReadAll(path), path, mutant, failures);
                    fromDisk++;
                    if (onDisk != outcome) failures.Add($"{name} ({mutant.Description}): {outcome} in memory but {onDisk} from disk");
                }
            }
        }

        output.WriteLine($"{mutants} mutants of {files.Count} files ({fromDisk} also from disk) in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var (outcome, count) in outcomes) output.WriteLine($"  {outcome}: {count}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // The mutants reach deep into validation: valid variants and most error classes occur.
        Assert.True(outcomes.GetValueOrDefault("ok") > 0, "no mutant opened");
        Assert.True(outcomes.Count >= 15, $"only {outcomes.Count} distinct outcomes: {string.Join(", ", outcomes.Keys)}");
    }

    private void OpenAndReadAll(ReadOnlyMemory<byte> bytes, string name)
    {
        using var file = SafetensorsFile.Open(bytes, name);
        ReadAll(file);
    }

    private void OpenAndReadAll(string path)
    {
        using var file = SafetensorsFile.Open(path);
        ReadAll(file);
    }

    private void ReadAll(SafetensorsFile file)
    {
        foreach (var t in file.Tensors)
        {
            if (file.ReadSingles(t.Name).Length != t.ElementCount)
                throw new InvalidOperationException($"'{t.Name}' read a wrong number of values");
            if (t.DType.IsInteger()) file.ReadInt64(t.Name);
            if (t.ElementCount <= 4096)
            {
                using var uploaded = file.Load(_backend, t.Name, t.ElementCount % 2 == 0 ? DType.F16 : DType.F32);
            }
        }
    }

    /// <summary>"ok", or the error class; anything but a <see cref="DiffuserException"/>, or a hang, is a failure.</summary>
    private static string RunWithBudget(Action action, string name, Mutant mutant, List<string> failures)
    {
        var run = Task.Run(() =>
        {
            try
            {
                action();
                return "ok";
            }
            catch (SafetensorsException e)
            {
                if (e.FilePath != name || !e.Message.StartsWith(name + ": ", StringComparison.Ordinal))
                    failures.Add($"{name} ({mutant.Description}): message does not start with the file name: {e.Message}");
                return e.Error.ToString();
            }
            catch (DiffuserException e)
            {
                return e.GetType().Name;
            }
            catch (Exception e)
            {
                failures.Add($"{name} ({mutant.Description}): {e}");
                return "UNEXPECTED " + e.GetType().Name;
            }
        });
        if (run.Wait(MutantBudget)) return run.Result;
        failures.Add($"{name} ({mutant.Description}): still running after {MutantBudget.TotalSeconds} s");
        return "TIMEOUT";
    }

    public void Dispose()
    {
        _backend.Dispose();
        _dir.Dispose();
    }
}
