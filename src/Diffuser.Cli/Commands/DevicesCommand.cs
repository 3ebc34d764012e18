using System.CommandLine;
using System.Globalization;
using Diffuser.Backends;
using Spectre.Console;

namespace Diffuser.Cli.Commands;

/// <summary>
/// <c>diffuser devices [--json]</c>: every device <see cref="BackendFactory.ListDevices"/> reports (the GPUs ILGPU
/// sees, its CPU accelerator, the managed cpu backend), with memory, warp size, compute capability or driver, and
/// whether Diffuser can use it or why not.
/// </summary>
public sealed class DevicesCommand : DiffuserCommand
{
    private readonly Option<bool> _json = new("--json") { Description = "Print the devices as JSON." };

    public DevicesCommand(CliContext context)
        : base(context, "devices", "List the devices Diffuser can run on (the --device names of generate).")
    {
        Options.Add(_json);
    }

    protected override int Execute(ParseResult result, CancellationToken cancellation)
    {
        var devices = BackendFactory.ListDevices();
        if (result.GetValue(_json))
        {
            Context.Output.WriteLine(CliJson.Serialize(devices));
            return 0;
        }
        var table = new Table().AddColumns("Backend", "Device", "Memory", "Warp", "Capability / driver", "Usable");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        foreach (var d in devices)
            table.AddRow(
                new Spectre.Console.Text(d.Backend), new Spectre.Console.Text(d.Name), new Spectre.Console.Text(ByteSize.Format(d.MemoryBytes)),
                new Spectre.Console.Text(d.WarpSize.ToString(CultureInfo.InvariantCulture)), new Spectre.Console.Text(d.Capability),
                d.IsUsable ? new Markup("[green]yes[/]") : new Spectre.Console.Text($"no: {d.UnusableReason}"));
        Context.Console.Write(table);
        Context.Console.WriteLine($"Use one with: diffuser generate --device {string.Join("|", BackendFactory.DeviceNames)} (auto: the first usable GPU, else cpu).");
        return 0;
    }
}
