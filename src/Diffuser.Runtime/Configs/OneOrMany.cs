using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffuser.Configs;

/// <summary>
/// A config value diffusers accepts either as one value for every block or as a list with one value per block
/// (<c>attention_head_dim: 8</c> or <c>[5, 10, 20, 20]</c>).
/// </summary>
[JsonConverter(typeof(OneOrManyConverterFactory))]
public sealed class OneOrMany<T>
{
    private readonly T[] _values;

    public OneOrMany(T single)
    {
        _values = [single];
        IsList = false;
    }

    public OneOrMany(IEnumerable<T> values)
    {
        _values = values.ToArray();
        IsList = true;
    }

    /// <summary>True when the JSON held a list.</summary>
    public bool IsList { get; }
    public IReadOnlyList<T> Values => _values;

    /// <summary>One value per block: a single value repeated, or the list itself, which must have <paramref name="count"/> entries.</summary>
    public T[] PerBlock(int count, string name, string source)
    {
        if (!IsList) return Enumerable.Repeat(_values[0], count).ToArray();
        if (_values.Length != count)
            throw new DiffuserException($"{source}: {name} {this} has {_values.Length} entries, but the model has {count} blocks.");
        return (T[])_values.Clone();
    }

    public override string ToString() => IsList ? $"[{string.Join(", ", _values)}]" : $"{_values[0]}";

    public static implicit operator OneOrMany<T>(T single) => new(single);
}

internal sealed class OneOrManyConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(OneOrMany<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(OneOrManyConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;
}

internal sealed class OneOrManyConverter<T> : JsonConverter<OneOrMany<T>>
{
    public override OneOrMany<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            var list = JsonSerializer.Deserialize<T[]>(ref reader, options) ?? [];
            if (list.Length == 0) throw new JsonException("an empty list is not a valid per-block value");
            return new OneOrMany<T>(list);
        }
        return new OneOrMany<T>(JsonSerializer.Deserialize<T>(ref reader, options)!);
    }

    public override void Write(Utf8JsonWriter writer, OneOrMany<T> value, JsonSerializerOptions options)
    {
        if (value.IsList) JsonSerializer.Serialize(writer, value.Values, options);
        else JsonSerializer.Serialize(writer, value.Values[0], options);
    }
}
