namespace Diffuser.Tests.Kernels;

/// <summary>
/// The test classes that run kernels on ILGPU's CPU accelerator: one at a time, and with nothing else running (xunit
/// runs a collection that disables parallelization after all the others). Its threads are OS threads, 256 to a group,
/// meeting at every barrier, so each barrier waits for every thread the scheduler has not yet run: on 2 cores these
/// classes took 14 minutes beside the rest of the suite, and 3 min 39 s alone after it (the rest 2 min 25 s; measured
/// before the whole fp16 UNet step of <see cref="EmulatedUNetStepTests"/>, 3.4 minutes more, was added). A class's
/// backends (each a CPU accelerator of 1,025 threads) live until the class ends, and every garbage collection walks
/// every thread: an allocating test belongs in a class with few backends (see <see cref="EmulatedUNetStepTests"/>).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuAcceleratorCollection
{
    public const string Name = "ILGPU CPU accelerator";
}
