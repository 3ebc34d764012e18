namespace Diffuser.Kernels.Launch;

/// <summary>
/// How a tiled product splits its reduction across groups when its output has too few tiles to fill the device
/// (the 16×16 and 8×8 UNet levels: 8×8×1280 is 10 output tiles on a GPU with 132 multiprocessors).
/// </summary>
/// <param name="Count">Number of splits (1: no split, the kernel applies the epilogue itself).</param>
/// <param name="Length">Reduction indices per split, a multiple of the kernel's reduction stage.</param>
public readonly record struct SplitK(int Count, int Length)
{
    /// <summary>
    /// Groups a multiprocessor runs at once: a split fills at most one wave of them. The tensor-core kernels' registers
    /// hold two (186–228 a thread as specialised for SD on sm_90, PtxasTests; three groups of 128 threads would need at
    /// most 168), not their shared memory (48 KB a group: four would fit). Outputs with a tile per multiprocessor are
    /// not split.
    /// </summary>
    public const int GroupsPerMultiprocessor = 2;
    /// <summary>Each split keeps at least this many reduction stages.</summary>
    private const int MinStages = 4;
    /// <summary>
    /// At most this many splits: SD 1.5's 8×8 level (10 tiles on an H200) takes 26, a wave of 260 groups (at 16, 160
    /// groups, 61% of a wave, ran 23 stages a split where 14 now do).
    /// </summary>
    private const int MaxCount = 32;

    /// <summary>
    /// The split of a reduction of <paramref name="depth"/> over <paramref name="tiles"/> output tiles, in stages of
    /// <paramref name="stage"/> indices (<see cref="TiledMatmul.Depth"/>, or 32 for the tensor-core matmul): the most
    /// splits whose groups still fit one wave. One split more would leave a second wave of a few groups, each as long
    /// as the first wave's (40 tiles on 132 multiprocessors: 7 splits are 280 groups, 16 past the 264 that run at once,
    /// and take two rounds of 1/7 of the reduction; 6 splits, 240 groups, one round of 1/6).
    /// </summary>
    public static SplitK Choose(int multiprocessors, long tiles, int depth, int stage = TiledMatmul.Depth)
    {
        long wave = (long)GroupsPerMultiprocessor * multiprocessors;
        int count = tiles >= multiprocessors ? 1 : (int)Math.Min(wave / tiles, Math.Min(MaxCount, depth / (MinStages * stage)));
        if (count <= 1) return new SplitK(1, depth);
        int length = LaunchGeometry.Tiles(LaunchGeometry.Tiles(depth, count), stage) * stage;
        return new SplitK(LaunchGeometry.Tiles(depth, length), length);
    }

    /// <summary>Floats of workspace for <paramref name="outputs"/> results per split (0 without a split).</summary>
    public long WorkspaceLength(long outputs) => Count > 1 ? Count * outputs : 0;
}
