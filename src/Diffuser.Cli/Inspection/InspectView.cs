using System.Globalization;
using Spectre.Console;

namespace Diffuser.Cli.Inspection;

/// <summary>Renders inspect reports: tables for people, indented camelCase JSON for programs.</summary>
public static class InspectView
{
    public static string ToJson<T>(T report) => CliJson.Serialize(report);

    public static void Render(IAnsiConsole console, FileReport report)
    {
        var table = new Table().AddColumns("Tensor", "DType", "Shape", "Parameters");
        table.Columns[3].RightAligned().NoWrap();
        foreach (var t in report.Tensors)
            table.AddRow(Cell(t.Name), Cell(t.DType), Cell($"[{string.Join(", ", t.Shape)}]"), Cell(Count(t.Parameters)));
        console.Write(table);
        console.MarkupLine($"[bold]{Markup.Escape(report.Path)}[/]: {report.TensorCount} tensors, {Count(report.ParameterCount)} parameters, " +
                           $"{Size(report.Bytes)} ({Mix(report.DTypes)})");
        console.MarkupLine(report.Metadata.Count == 0 ? "metadata: none" : $"metadata keys: {Markup.Escape(string.Join(", ", report.Metadata.Keys))}");
    }

    public static void Render(IAnsiConsole console, FolderReport report)
    {
        console.MarkupLine($"[bold]{Markup.Escape(report.Path)}[/]: {report.Kind}{(report.ClassName is null ? "" : $" {Markup.Escape(report.ClassName)}")}");
        var table = new Table().AddColumns("Component", "Class", "Weights", "Tensors", "Parameters", "Size", "DTypes");
        foreach (int right in new[] { 3, 4, 5 }) table.Columns[right].RightAligned().NoWrap();
        table.Columns[0].NoWrap();
        foreach (var c in report.Components)
        {
            bool weights = c.Files.Count > 0;
            table.AddRow(
                Cell(c.Variant is null ? c.Name : $"{c.Name} ({c.Variant})"),
                Cell(c.ClassName ?? "-"),
                Cell(weights ? string.Join("\n", c.Files) : "-"),
                Cell(weights ? c.TensorCount.ToString(CultureInfo.InvariantCulture) : ""),
                Cell(weights ? Count(c.ParameterCount) : ""),
                Cell(weights ? Size(c.Bytes) : ""),
                Cell(weights ? Mix(c.DTypes) : ""));
        }
        console.Write(table);
        int withWeights = report.Components.Count(c => c.Files.Count > 0);
        console.MarkupLine($"total: {withWeights} weight sets, {Count(report.ParameterCount)} parameters, {Size(report.Bytes)}");
    }

    /// <summary>A table cell showing <paramref name="text"/> literally (no markup).</summary>
    private static Spectre.Console.Text Cell(string text) => new(text);

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Size(long? bytes) => bytes is { } b ? ByteSize.Format(b) : "shapes only";

    private static string Mix(IReadOnlyDictionary<string, int> dtypes) =>
        dtypes.Count == 0 ? "-" : string.Join(", ", dtypes.Select(d => $"{d.Key} ×{d.Value}"));
}
