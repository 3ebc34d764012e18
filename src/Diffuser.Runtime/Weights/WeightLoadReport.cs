using System.Text;

namespace Diffuser.Weights;

/// <summary>How a model's requested tensors matched its source.</summary>
public sealed record WeightLoadReport(
    string Source,
    int Consumed,
    long ParameterCount,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> MisShaped,
    IReadOnlyList<string> Duplicates)
{
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && MisShaped.Count == 0 && Duplicates.Count == 0;

    public override string ToString()
    {
        var sb = new StringBuilder($"{Source}: {Consumed} tensors, {ParameterCount:N0} parameters");
        void List(string title, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            sb.Append($"\n{title} ({items.Count}):");
            foreach (var i in items.Take(20)) sb.Append($"\n  {i}");
            if (items.Count > 20) sb.Append($"\n  ... and {items.Count - 20} more");
        }
        List("missing", Missing);
        List("unexpected", Unexpected);
        List("mis-shaped", MisShaped);
        List("requested twice", Duplicates);
        return sb.ToString();
    }
}

public sealed class WeightLoadException(WeightLoadReport report)
    : DiffuserException($"Weights do not match the model.\n{report}")
{
    public WeightLoadReport Report { get; } = report;
}
