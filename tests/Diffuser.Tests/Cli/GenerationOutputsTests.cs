using Diffuser.Cli.Generation;
using Diffuser.Imaging;
using Diffuser.Pipelines;
using Diffuser.Tests.Infrastructure;

namespace Diffuser.Tests.Cli;

/// <summary>Writing a run's files all or nothing: when one file cannot be written, the ones already written go again.</summary>
public sealed class GenerationOutputsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static OutputImage Image(ulong seed) => new(new RgbImage(2, 2, new byte[12]), seed, $"a test\nSteps: 1, Seed: {seed}, Size: 2x2");

    private static LatentBatch Latents => new(new float[4], [1, 1, 2, 2]);

    [Fact]
    public void AFailedImageTakesTheLatentsFileAndNewFoldersWithIt()
    {
        string png = _dir.File(Path.Combine("run", "image.png")), latents = _dir.File(Path.Combine("latents", "deep", "final.safetensors"));
        var outputs = GenerationOutputs.Plan(png, latents, 1, overwrite: false);
        Directory.CreateDirectory(png);   // the image's name is taken by a folder after the checks

        var e = Assert.Throws<DiffuserException>(() => outputs.Save([Image(1)], Latents, CancellationToken.None));
        Assert.Contains(png, e.Message);
        Assert.False(Directory.Exists(_dir.File("latents")));
        Assert.Equal([_dir.File("run"), png], Directory.EnumerateFileSystemEntries(_dir.Path, "*", SearchOption.AllDirectories).Order());
    }

    [Fact]
    public void CancellingBetweenImagesRemovesTheFirstOneAndItsFolder()
    {
        string folder = _dir.File(Path.Combine("new", "numbered"));
        var outputs = GenerationOutputs.Plan(folder, null, 2, overwrite: false);
        using var cancel = new CancellationTokenSource();

        Assert.Throws<OperationCanceledException>(() => outputs.Save(new CancelledAfterFirst([Image(1), Image(2)], cancel), null, cancel.Token));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    /// <summary>Images whose enumeration cancels <paramref name="cancel"/> once the first one has been handed out (and written).</summary>
    private sealed class CancelledAfterFirst(IReadOnlyList<OutputImage> images, CancellationTokenSource cancel) : IReadOnlyList<OutputImage>
    {
        public OutputImage this[int index] => images[index];
        public int Count => images.Count;

        public IEnumerator<OutputImage> GetEnumerator()
        {
            for (int i = 0; i < images.Count; i++)
            {
                if (i > 0) cancel.Cancel();
                yield return images[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public void Dispose() => _dir.Dispose();
}
