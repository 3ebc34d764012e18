using Diffuser.Kernels.Launch;
using Diffuser.Kernels.TensorCore;

namespace Diffuser.Tests.Kernels;

/// <summary>
/// Stream-K's deal (<see cref="TileSchedule"/>): every stage of every tile goes to one group, each tile's pieces are
/// counted alike by all of them and numbered in group order, and the launcher takes it for the products whose tiles
/// leave much of their last wave idle.
/// </summary>
public sealed class TileScheduleTests
{
    [Theory]
    [InlineData(192, 2880, 264)]   // SD 1.5's 64×64 3×3 convolutions on an H200: 0.73 of a wave
    [InlineData(320, 1280, 264)]   // the 16×16 GEGLUs: 1.21 waves
    [InlineData(160, 11520, 264)]  // the 16×16 upsampler
    [InlineData(640, 640, 264)]    // the 32×32 GEGLUs
    [InlineData(5, 200, 8)]        // the emulation tests' accelerator (4 multiprocessors); a last stage of 8 indices
    [InlineData(4, 128, 8)]        // half a wave: shares of half a tile
    public void EveryStageOfEveryTileGoesToOneGroup(int tiles, int depth, int groups)
    {
        int stages = (depth + TensorCoreLayout.Depth - 1) / TensorCoreLayout.Depth;
        // Tiles of 2 columns and 2 rows (batch entries beyond) where they divide so, so that the next tile wraps both.
        int columns = tiles % 4 == 0 ? 2 : tiles, rows = tiles % 4 == 0 ? 2 : 1;
        var schedule = new TileSchedule(columns, rows, tiles, stages, groups);
        var owner = new int[tiles * stages];
        Array.Fill(owner, -1);
        var pieces = new List<(int Group, TilePiece Piece)>();
        for (int g = 0; g < groups; g++)
            for (var piece = schedule.StreamFirst(g, depth); piece.Count > 0; piece = schedule.Next(piece, depth))
            {
                Assert.True(piece.KBegin < piece.KEnd && piece.KEnd <= depth, $"{piece}");
                Assert.True(piece.Column < columns && piece.Row < rows && schedule.Tile(piece) < tiles, $"{piece}");
                for (int k = piece.KBegin; k < piece.KEnd; k += TensorCoreLayout.Depth)
                {
                    int stage = schedule.Tile(piece) * stages + k / TensorCoreLayout.Depth;
                    Assert.Equal(-1, owner[stage]);
                    owner[stage] = g;
                }
                pieces.Add((g, piece));
            }
        Assert.DoesNotContain(-1, owner);
        foreach (var tile in pieces.GroupBy(p => schedule.Tile(p.Piece)))
        {
            var ofTile = tile.OrderBy(p => p.Group).ToList();
            Assert.All(ofTile, p => Assert.Equal(ofTile.Count, p.Piece.Count));
            Assert.Equal(Enumerable.Range(0, ofTile.Count), ofTile.Select(p => p.Piece.Index));
            Assert.InRange(ofTile.Count, 1, TileSchedule.MaxPieces);
        }
    }

    /// <summary>On an H200 (132 multiprocessors, a wave of 264 groups): SD 1.5's tile counts at 512², batch 2.</summary>
    [Theory]
    [InlineData(192, 264), InlineData(320, 264), InlineData(160, 264), InlineData(640, 264)]   // 0.73, 0.61, 0.61, 0.81 of their last wave
    [InlineData(240, 0), InlineData(512, 0), InlineData(1280, 0)]   // 0.91 and 0.97 of it; 1280 tiles are 4.8 waves
    [InlineData(100, 0), InlineData(131, 0)]   // split-K's (fewer tiles than multiprocessors)
    public void StreamsTheProductsThatLeaveTheirLastWaveIdle(int tiles, int groups) =>
        Assert.Equal(groups, TileSchedule.StreamGroups(132, tiles, stages: 10));

    [Fact]
    public void ShortReductionsAreNotStreamed() => Assert.Equal(0, TileSchedule.StreamGroups(132, 192, stages: 3));
}
