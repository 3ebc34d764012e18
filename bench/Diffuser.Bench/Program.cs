using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Diffuser.Bench;

// Our own switches (--small, --devices a,b, --torch FILE) become environment variables, which BenchmarkDotNet's
// child processes inherit; everything else goes to BenchmarkDotNet (--filter, --job, --list...).
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--small": Environment.SetEnvironmentVariable(BenchSettings.SmallVariable, "1"); break;
        case "--devices" when i + 1 < args.Length: Environment.SetEnvironmentVariable(BenchSettings.DevicesVariable, args[++i]); break;
        case "--torch" when i + 1 < args.Length: Environment.SetEnvironmentVariable(BenchSettings.TorchVariable, Path.GetFullPath(args[++i])); break;
        default: rest.Add(args[i]); break;
    }
}
var config = DefaultConfig.Instance
    .AddColumn(StatisticColumn.Median, new AchievedRateColumn(), ReferenceRatioColumn.CpuReference, ReferenceRatioColumn.TorchReference)
    .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(48));
BenchmarkSwitcher.FromAssembly(typeof(BenchSettings).Assembly).Run([.. rest], config);
