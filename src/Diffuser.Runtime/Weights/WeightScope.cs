using Diffuser.Tensors;

namespace Diffuser.Weights;

/// <summary>
/// A dotted prefix into a model's weights that mirrors the diffusers module tree:
/// <c>w.Scope("down_blocks").Scope(0).Scope("resnets")</c> then <c>Get("conv1.weight", 320, 320, 3, 3)</c>.
/// </summary>
public readonly struct WeightScope
{
    private readonly WeightLoader _loader;

    internal WeightScope(WeightLoader loader, string prefix)
    {
        _loader = loader;
        Prefix = prefix;
    }

    public string Prefix { get; }

    public WeightScope Scope(string name) => new(_loader, Join(name));
    public WeightScope Scope(int index) => Scope(index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The tensor <c>prefix.name</c>, which must exist with exactly this shape (checked in <see cref="WeightLoader.Complete"/>).</summary>
    public Tensor Get(string name, params int[] shape) => _loader.Get(Join(name), shape);

    /// <summary>Convolution filters <c>prefix.name</c> [K, C, R, S], packed for the backend's convolution where it has a faster layout.</summary>
    public Tensor GetConv2dFilter(string name, int outChannels, int inChannels, int height, int width) =>
        _loader.GetConv2dFilter(Join(name), [outChannels, inChannels, height, width]);

    /// <summary>The tensor when the source has it (e.g. an optional bias), otherwise null.</summary>
    public Tensor? GetOptional(string name, params int[] shape) => Has(name) ? Get(name, shape) : null;

    /// <summary>
    /// The tensors <c>prefix.{part}.{name}</c> for each of <paramref name="parts"/>, all of <paramref name="shape"/>,
    /// joined along their first dimension: <c>Scope("attn1").GetConcatenated(["to_q", "to_k", "to_v"], "weight", 320, 320)</c>
    /// is one [960, 320] matrix. Each source tensor is checked and booked as if asked for on its own.
    /// </summary>
    public Tensor GetConcatenated(string[] parts, string name, params int[] shape)
    {
        var names = new string[parts.Length];
        for (int i = 0; i < parts.Length; i++) names[i] = Join($"{parts[i]}.{name}");
        return _loader.GetConcatenated(names, Enumerable.Repeat(shape, parts.Length).ToArray());
    }

    /// <summary>
    /// The tensors <c>{scope}.{name}</c> of several scopes of one model, each [rows, .. <paramref name="rest"/>], joined
    /// along their first dimension (the time_emb_proj weights of every resnet of a UNet). Each source tensor is checked
    /// and booked as if asked for on its own.
    /// </summary>
    public static Tensor Join(IReadOnlyList<(WeightScope Scope, int Rows)> parts, string name, params int[] rest)
    {
        if (parts.Count == 0) throw new ArgumentException("No tensors to join.", nameof(parts));
        var names = parts.Select(p => p.Scope.Join(name)).ToArray();
        return parts[0].Scope._loader.GetConcatenated(names, parts.Select(p => (int[])[p.Rows, .. rest]).ToArray());
    }

    public bool Has(string name) => _loader.Has(Join(name));

    private string Join(string name) => Prefix.Length == 0 ? name : $"{Prefix}.{name}";

    public override string ToString() => Prefix;
}
