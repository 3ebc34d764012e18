using System.Text.Json;
using Diffuser.Imaging;
using Diffuser.Tensors;

namespace Diffuser.Tests.Pipelines;

/// <summary>
/// The nearest-centroid digit classifier of tiny-digits' <c>eval/digit_centroids_8x8.json</c>, with its downsampling:
/// grey = mean of R, G, B of the [0, 1] image; 4×4 block means × 16 → 8×8 in 0..16; argmin of the squared distance
/// to each class mean (ties: lowest digit).
/// </summary>
internal sealed class DigitCentroids
{
    private readonly double[][] _centroids;   // [digit][row·8 + col]

    private DigitCentroids(double[][] centroids) => _centroids = centroids;

    public static DigitCentroids Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var centroids = json.RootElement.GetProperty("centroids").EnumerateArray()
            .Select(c => c.EnumerateArray().SelectMany(row => row.EnumerateArray().Select(v => v.GetDouble())).ToArray())
            .ToArray();
        Assert.Equal(10, centroids.Length);
        Assert.All(centroids, c => Assert.Equal(64, c.Length));
        return new DigitCentroids(centroids);
    }

    /// <summary>The digit of each 32×32 image of a decoded batch (B, 3, 32, 32) in [0, 1].</summary>
    public int[] Classify(Tensor images)
    {
        Assert.Equal([images.Shape[0], 3, 32, 32], images.Shape.Dims.ToArray());
        var values = images.ToArray();
        return Enumerable.Range(0, images.Shape[0]).Select(b => Nearest(Downsample(values.AsSpan(b * 3 * 1024, 3 * 1024)))).ToArray();
    }

    /// <summary>The digit of a 32×32 8-bit image (a PNG read back).</summary>
    public int Classify(RgbImage image)
    {
        Assert.Equal((32, 32), (image.Width, image.Height));
        var chw = new float[3 * 1024];
        for (int i = 0; i < 1024; i++)
            for (int c = 0; c < 3; c++)
                chw[c * 1024 + i] = image.Pixels[3 * i + c] / 255f;
        return Nearest(Downsample(chw));
    }

    /// <summary>16 × the mean grey of each 4×4 block, which is the block's sum of grey values.</summary>
    private static double[] Downsample(ReadOnlySpan<float> chw)
    {
        var v = new double[64];
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                v[y / 4 * 8 + x / 4] += (chw[y * 32 + x] + chw[1024 + y * 32 + x] + chw[2048 + y * 32 + x]) / 3.0;
        return v;
    }

    private int Nearest(double[] v)
    {
        int best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int c = 0; c < _centroids.Length; c++)
        {
            double d = 0;
            for (int i = 0; i < 64; i++) d += (v[i] - _centroids[c][i]) * (v[i] - _centroids[c][i]);
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return best;
    }
}
