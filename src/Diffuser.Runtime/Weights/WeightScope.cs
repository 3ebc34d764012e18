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

    /// <summary>The tensor when the source has it (e.g. an optional bias), otherwise null.</summary>
    public Tensor? GetOptional(string name, params int[] shape) => Has(name) ? Get(name, shape) : null;

    public bool Has(string name) => _loader.Has(Join(name));

    private string Join(string name) => Prefix.Length == 0 ? name : $"{Prefix}.{name}";

    public override string ToString() => Prefix;
}
