namespace Diffuser.Weights;

/// <summary>
/// Renames tensor names by their longest matching prefix, then by the first rename of the rest that matches (the
/// parts of a resnet or an attention block, whose names differ between checkpoint layouts). A name no prefix matches
/// stays as it is.
/// </summary>
public sealed class PrefixRenames
{
    private readonly List<Rule> _rules = new();

    private sealed record Rule(string From, string To, IReadOnlyList<(string From, string To)> Inner);

    /// <summary>Names starting <paramref name="from"/> start <paramref name="to"/> instead; <paramref name="inner"/>
    /// renames the start of what follows the prefix.</summary>
    public PrefixRenames Add(string from, string to, IReadOnlyList<(string From, string To)>? inner = null)
    {
        _rules.Add(new Rule(from, to, inner ?? []));
        return this;
    }

    public string Rename(string name)
    {
        Rule? best = null;
        foreach (var rule in _rules)
            if (name.StartsWith(rule.From, StringComparison.Ordinal) && (best is null || rule.From.Length > best.From.Length))
                best = rule;
        if (best is null) return name;
        var rest = name[best.From.Length..];
        foreach (var (from, to) in best.Inner)
            if (rest.StartsWith(from, StringComparison.Ordinal))
                return best.To + to + rest[from.Length..];
        return best.To + rest;
    }
}
