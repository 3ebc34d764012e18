using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>How a product with few output tiles splits its reduction (<see cref="SplitK.Choose"/>).</summary>
public class SplitKTests
{
    private const int Stage = TensorCoreLayout.Depth;

    /// <summary>
    /// Below one tile per multiprocessor a product splits into as many splits as one wave of groups (two per
    /// multiprocessor) holds, at most 32 and each at least 4 stages long; never into more groups than a wave: one more
    /// split would leave a second wave of a few groups, each as long as the first wave's. The splits cover the
    /// reduction once, in whole stages (so a count that does not divide the stages may round down: 9 splits of 40
    /// stages are 8 of 5).
    /// </summary>
    [Theory, InlineData(4), InlineData(46), InlineData(108), InlineData(132)]
    public void ASplitFillsAtMostOneWave(int multiprocessors)
    {
        int wave = 2 * multiprocessors;
        foreach (int depth in new[] { 96, 320, 640, 1280, 2880, 5760, 11520, 23040, 100_000 })
            for (int tiles = 1; tiles < multiprocessors; tiles++)
            {
                var split = SplitK.Choose(multiprocessors, tiles, depth, Stage);
                string what = $"{tiles} tiles, depth {depth}, {multiprocessors} multiprocessors: {split}";
                Assert.True(tiles * split.Count <= wave, what);
                // Splits one stage shorter would be more than the reduction allows (32, and 4 stages a split) or than a wave holds.
                int shorter = split.Length - Stage, more = (depth + shorter - 1) / Math.Max(shorter, 1);
                Assert.True(shorter <= 0 || more > Math.Min(32, depth / (4 * Stage)) || tiles * more > wave, what);
                Assert.Equal(0, split.Length % Stage);
                Assert.True(split.Count * split.Length >= depth && (split.Count - 1) * split.Length < depth, what);
                if (split.Count > 1) Assert.True(split.Length >= 4 * Stage, what);
            }
    }

    /// <summary>One tile per multiprocessor or more: one group a tile, the whole reduction.</summary>
    [Theory, InlineData(132, 132), InlineData(132, 192), InlineData(132, 20_000), InlineData(4, 4)]
    public void ProductsWithATilePerMultiprocessorDoNotSplit(int multiprocessors, long tiles) =>
        Assert.Equal(new SplitK(1, 11520), SplitK.Choose(multiprocessors, tiles, 11520, Stage));

    /// <summary>
    /// SD 1.5's products on an H200 (132 multiprocessors, a wave of 264 groups): the 16×16 level's convolutions (1280
    /// filters over 2·256 pixels: 40 tiles) and GEMMs, the 32×32 level's (80 tiles), the 16×16 level's q|k|v (120 tiles)
    /// and conv_out (64 tiles, its 4 filters on a tile's first rows), the 8×8 level's convolutions (10 tiles).
    /// </summary>
    [Theory]
    [InlineData(40, 11520, 6), InlineData(40, 1280, 6), InlineData(80, 5760, 3), InlineData(80, 640, 3)]
    [InlineData(120, 1280, 2), InlineData(64, 2880, 4), InlineData(10, 11520, 26), InlineData(10, 1280, 10)]
    public void StableDiffusionsProductsFillOneWaveOfAnH200(long tiles, int depth, int splits)
    {
        var split = SplitK.Choose(132, tiles, depth, Stage);
        Assert.Equal(splits, split.Count);
        Assert.InRange(tiles * split.Count, 1, 264);
    }
}
