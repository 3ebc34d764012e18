using System.CommandLine;
using Diffuser.Cli.Inspection;
using Diffuser.IO;

namespace Diffuser.Cli.Commands;

/// <summary>
/// <c>diffuser inspect PATH [--json]</c>: the tensors of a safetensors file (name, dtype, shape, parameters, bytes,
/// metadata keys), or per component of a diffusers pipeline / component folder its class, weight files, tensor
/// count, parameters, bytes and dtype mix.
/// </summary>
public sealed class InspectCommand : DiffuserCommand
{
    private readonly Argument<string> _path = new("path")
    {
        Description = "A .safetensors file, a diffusers pipeline folder (with model_index.json) or one component folder.",
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print the report as JSON." };

    public InspectCommand(CliContext context)
        : base(context, "inspect", "Show the tensors of a safetensors file or the components of a diffusers model folder.")
    {
        Arguments.Add(_path);
        Options.Add(_json);
    }

    protected override int Execute(ParseResult result, CancellationToken cancellation)
    {
        string path = result.GetValue(_path)!;
        bool json = result.GetValue(_json);
        if (File.Exists(path))
        {
            var report = WeightInspector.InspectFile(path);
            if (json) Context.Output.WriteLine(InspectView.ToJson(report));
            else InspectView.Render(Context.Console, report);
            return 0;
        }
        if (!Directory.Exists(path)) throw new DiffuserException($"No such file or directory: {path}");
        var folder = DiffusersFolder.IsPipeline(path) ? WeightInspector.InspectPipeline(path) : WeightInspector.InspectComponentFolder(path);
        if (json) Context.Output.WriteLine(InspectView.ToJson(folder));
        else InspectView.Render(Context.Console, folder);
        return 0;
    }
}
