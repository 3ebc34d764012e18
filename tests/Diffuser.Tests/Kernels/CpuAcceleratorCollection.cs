using Diffuser.Tests.Kernels;
using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCollectionOrderer(typeof(CpuAcceleratorFirst))]

namespace Diffuser.Tests.Kernels;

/// <summary>
/// The test classes that run kernels on ILGPU's CPU accelerator, one at a time. Its threads are OS threads, 256 to a
/// group, meeting at every barrier; two such classes side by side on a 2-core machine each ran 1.8–2.8× slower than
/// alone (more runnable threads than cores make every barrier's wake-ups wait longer), so together they took longer
/// than one after the other. The rest of the suite runs beside them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class CpuAcceleratorCollection
{
    public const string Name = "ILGPU CPU accelerator";
}

/// <summary>
/// Starts <see cref="CpuAcceleratorCollection"/> first: it is the suite's longest (nearly all of its 14–15 minutes on 2
/// cores), so the rest fills the other core beside it instead of it starting late and running alone at the end.
/// </summary>
public sealed class CpuAcceleratorFirst : ITestCollectionOrderer
{
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : ITestCollection =>
        [.. testCollections.OrderBy(c => c.TestCollectionDisplayName == CpuAcceleratorCollection.Name ? 0 : 1).ThenBy(c => c.UniqueID, StringComparer.Ordinal)];
}
