using System.Collections.Concurrent;
using Diffuser.Text;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Text;

/// <summary>Tokenizers of the shared model folders, each loaded once per test run (loading takes most of a second).</summary>
public static class TestTokenizers
{
    private static readonly ConcurrentDictionary<string, Lazy<ClipTokenizer>> Loaded = new();

    /// <summary>The tokenizer of <c>shared/models/&lt;model&gt;/tokenizer</c>.</summary>
    public static ClipTokenizer Of(string model) =>
        Loaded.GetOrAdd(model, m => new Lazy<ClipTokenizer>(() => ClipTokenizer.FromModelFolder(TestPaths.Model(m)))).Value;
}
