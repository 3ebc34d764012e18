using Diffuser.Kernels.TensorCore;
using ILGPU;
using ILGPU.Algorithms;

namespace Diffuser.Kernels.Launch;

/// <summary>
/// How a tiled product's tiles and reduction stages are dealt to its groups (device code). By the grid
/// (<see cref="GridDeal"/>): a group per tile and split (<see cref="SplitK"/>). Or stream-K (<see cref="StreamKDeal"/>,
/// <see cref="Groups"/> &gt; 0), for products whose tiles would leave much of their last wave idle (the 64×64
/// level's 192 tiles fill 0.73 of a wave of 264 groups on an H200): a grid of one wave, every group taking an even
/// share of all the tiles' stages, tile after tile, so that a group works on the end of one tile and the start of the
/// next. A tile's stages then lie with up to 3 groups (a share is at least half a tile: <see cref="StreamGroups"/>), its
/// pieces, which finish it as a split reduction's splits do (<see cref="SplitReduction"/>).
/// </summary>
public readonly struct TileSchedule(int columnTiles, int rowTiles, int tiles, int stages, int groups)
{
    /// <summary>Output tiles along a batch entry's columns and rows (tile t is column t % ColumnTiles of row t / ColumnTiles, then the batch).</summary>
    public readonly int ColumnTiles = columnTiles, RowTiles = rowTiles;

    /// <summary>Stream-K: the tiles of all batch entries, the reduction stages of a tile, and the groups (0: by the grid).</summary>
    public readonly int Tiles = tiles, Stages = stages, Groups = groups;

    /// <summary>Stream-K deals at most this many waves of tiles (the launcher keeps a counter a tile).</summary>
    public const int MaxWaves = 4;

    /// <summary>Stream-K's most pieces of a tile: a group's share is at least half a tile (<see cref="StreamGroups"/>).</summary>
    public const int MaxPieces = 3;

    /// <summary>
    /// Stream-K's groups for a product of <paramref name="tiles"/> tiles of <paramref name="stages"/> stages on
    /// <paramref name="multiprocessors"/>, or 0 to deal them by the grid: one wave of groups
    /// (<see cref="SplitK.GroupsPerMultiprocessor"/> a multiprocessor) where the tiles leave more than a tenth of their
    /// last wave idle, fill at least half a wave (so that a tile has at most 3 pieces) and at most
    /// <see cref="MaxWaves"/>, and a tile has at least 4 stages.
    /// </summary>
    public static int StreamGroups(int multiprocessors, long tiles, int stages)
    {
        long wave = (long)SplitK.GroupsPerMultiprocessor * multiprocessors, waves = (tiles + wave - 1) / wave;
        bool streams = 2 * tiles >= wave && waves <= MaxWaves && stages >= 4 && 10 * tiles < 9 * waves * wave;
        return streams ? (int)wave : 0;
    }

    /// <summary>
    /// <paramref name="group"/>'s first stream-K piece: from the first stage of its share to the end of that stage's
    /// tile or of the share. The divisions are here, once a group: every later piece is the next tile's first.
    /// </summary>
    public TilePiece StreamFirst(int group, int depth)
    {
        int position = Share(group), end = Share(group + 1);
        if (position >= end) return default;
        int tile = position / Stages, first = tile * Stages, firstGroup = GroupOf(first), rest = tile / ColumnTiles;
        return new(tile - rest * ColumnTiles, rest % RowTiles, rest / RowTiles, (position - first) * TensorCoreLayout.Depth,
            XMath.Min((XMath.Min(first + Stages, end) - first) * TensorCoreLayout.Depth, depth), group - firstGroup,
            GroupOf(first + Stages - 1) - firstGroup + 1, end, Share(group + 2));
    }

    /// <summary>
    /// The stream-K group's piece after <paramref name="piece"/> (<see cref="TilePiece.Count"/> 0: none): the next tile
    /// from its first stage, if the share reaches it. The group is then that tile's first, and the tile has a piece in
    /// each of the next two groups whose shares begin before its end (a share is at least half a tile, so no third).
    /// </summary>
    public TilePiece Next(in TilePiece piece, int depth)
    {
        int first = (Tile(piece) + 1) * Stages;
        if (first >= piece.End) return default;
        int end = first + Stages, count = 1 + (piece.End < end ? 1 : 0) + (piece.End2 < end ? 1 : 0);
        int column = piece.Column + 1, row = piece.Row, batch = piece.Batch;
        if (column == ColumnTiles)
        {
            column = 0;
            row++;
        }
        if (row == RowTiles)
        {
            row = 0;
            batch++;
        }
        return new(column, row, batch, 0, XMath.Min((XMath.Min(end, piece.End) - first) * TensorCoreLayout.Depth, depth), 0, count, piece.End, piece.End2);
    }

    /// <summary>The index of <paramref name="piece"/>'s tile: its column, then its row, then its batch entry.</summary>
    public int Tile(in TilePiece piece) => (piece.Batch * RowTiles + piece.Row) * ColumnTiles + piece.Column;

    /// <summary>The first stage of <paramref name="group"/>'s share, ⌊group · all stages / groups⌋ (the last share ends at all stages).</summary>
    private int Share(int group) => (int)((long)group * Tiles * Stages / Groups);

    /// <summary>The group whose share holds stage <paramref name="stage"/>: the last whose share begins at or before it.</summary>
    private int GroupOf(int stage) => (int)(((stage + 1L) * Groups - 1) / ((long)Tiles * Stages));
}

/// <summary>
/// How a tensor-core kernel's groups take their pieces of a product (device code): a kernel's type argument, so that a
/// kernel dealt by the grid holds no piece loop (its <see cref="Next"/> is none, a constant) and only the stream-K one
/// carries the loop's registers.
/// </summary>
public interface ITileDeal
{
    /// <summary>This group's first piece (one of stream-K may have none).</summary>
    TilePiece First(in SplitReduction reduction, int depth);

    /// <summary>The group's piece after <paramref name="piece"/>, or none (<see cref="TilePiece.Count"/> 0).</summary>
    TilePiece Next(in SplitReduction reduction, in TilePiece piece, int depth);

    /// <summary>
    /// <paramref name="piece"/>'s <see cref="TilePiece.Count"/>, read where the deal keeps it: by the grid the split's
    /// count, a kernel parameter that ptxas reads where it is needed (a count in a register stays live through the
    /// split tile's tail, and the unspecialised GEMM spilled).
    /// </summary>
    int Pieces(in SplitReduction reduction, in TilePiece piece);
}

/// <summary>By the grid: a group per tile and split, the tile from the grid's x and y, the batch entry and split from its z.</summary>
public readonly struct GridDeal : ITileDeal
{
    public TilePiece First(in SplitReduction reduction, int depth)
    {
        var split = reduction.Split;
        int batch = Grid.IdxZ / split.Count, part = Grid.IdxZ - batch * split.Count, begin = part * split.Length;
        return new(Grid.IdxX, Grid.IdxY, batch, begin, XMath.Min(begin + split.Length, depth), part, split.Count, 0, 0);
    }

    public TilePiece Next(in SplitReduction reduction, in TilePiece piece, int depth) => default;

    public int Pieces(in SplitReduction reduction, in TilePiece piece) => reduction.Split.Count;
}

/// <summary>Stream-K (<see cref="TileSchedule"/>): group x takes its share of the tiles' stages, tile after tile.</summary>
public readonly struct StreamKDeal : ITileDeal
{
    public TilePiece First(in SplitReduction reduction, int depth) => reduction.Schedule.StreamFirst(Grid.IdxX, depth);

    public TilePiece Next(in SplitReduction reduction, in TilePiece piece, int depth)
    {
        Group.Barrier();   // the next piece copies into the shared memory this one's epilogue staged in
        return reduction.Schedule.Next(piece, depth);
    }

    public int Pieces(in SplitReduction reduction, in TilePiece piece) => piece.Count;
}

/// <summary>
/// A group's piece of a tiled product: reduction indices [<see cref="KBegin"/>, <see cref="KEnd"/>) of the tile at
/// <see cref="Column"/>, <see cref="Row"/> of batch entry <see cref="Batch"/>, the <see cref="Index"/>-th of the tile's
/// <see cref="Count"/> pieces (a split's, or stream-K's; 1: the whole tile; 0: no piece). Stream-K: <see cref="End"/>
/// is where the group's share ends, <see cref="End2"/> the next group's.
/// </summary>
public readonly record struct TilePiece(int Column, int Row, int Batch, int KBegin, int KEnd, int Index, int Count, int End, int End2);
