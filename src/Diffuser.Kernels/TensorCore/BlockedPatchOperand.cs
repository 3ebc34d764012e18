using Diffuser.Kernels.Conv;
using Diffuser.Kernels.Launch;
using ILGPU;

namespace Diffuser.Kernels.TensorCore;

/// <summary>
/// The im2col matrix of a <see cref="ChannelBlocks"/> fp16 image, bound to the calling thread's pixel column (loaded
/// along mn), for channel counts that are a multiple of 32: a stage's 32 indices are 32 channels of one tap, that is
/// four blocks of the tap's pixel, 16 contiguous bytes each, a plane apart. With <see cref="IOperandCopies.Async"/>
/// copies they go straight to shared memory by cp.async, as the filters do (a tap outside the image copies zeros and
/// reads nothing), where the dense image's <see cref="HalfPatchOperand"/> gathers 32 two-byte loads a stage through
/// registers. A thread finds its tap once a stage; 8 consecutive threads copy 8 consecutive pixels' blocks, 128
/// contiguous bytes. Read upsampled, a tap's row and column are halved on the way, as the dense operand does
/// (<see cref="TapPixels"/>): an upsampler's image is a quarter of what its convolution reads, so its copy into this
/// layout costs little beside the convolution.
/// </summary>
public readonly struct BlockedPatchOperand<TC> : IHalfTileOperand where TC : struct, IOperandCopies
{
    private readonly ArrayView<Half8> _blocks;
    private readonly long _address;
    private readonly PatchTaps _taps;
    private readonly TapPixels _pixels;
    private readonly int _origin, _plane;
    private readonly bool _direct;

    /// <param name="address">The global address of x's first element (<see cref="GlobalAddress.Of"/>), which cp.async needs.</param>
    /// <param name="plane">x's H·W as stored, <paramref name="s"/>'s <see cref="Conv2dShape.SourcePlane"/> (a constant of the kernel, so that the blocks a plane apart are immediate offsets).</param>
    /// <param name="upsample"><paramref name="s"/>'s <see cref="Conv2dShape.Upsample"/> (a constant of the kernel).</param>
    public BlockedPatchOperand(F16View x, long address, Conv2dShape s, int r, int sCols, int pixel, int plane, int upsample)
    {
        _blocks = x.Bits.Cast<Half8>();
        _plane = plane;
        _direct = default(TC).Async;
        var window = PatchWindow.Of(s, pixel);
        _taps = new PatchTaps(s, r, sCols, window);
        _pixels = new TapPixels(s, window, upsample);
        // A tap of channel block b is block _origin + b·plane + its pixel (blocks of ChannelBlocks.Width channels).
        _origin = LoopInvariant.Keep(window.ImageBase / ChannelBlocks.Width + _pixels.Origin);
        _address = LoopInvariant.Keep(address);
    }

    /// <summary>Whether the shape suits this operand: an image it reads (<see cref="SupportsImage"/>), a filter it takes.</summary>
    public static bool Supports(Conv2dShape s) => SupportsImage(s.N, s.C, s.SourcePlane) && PatchTaps.Supports(s.C, s.R * s.S);

    /// <summary>Whether <paramref name="images"/> channel-blocked images suit this operand: channels a multiple of 32 (a stage is one tap), fewer than 2³¹ blocks.</summary>
    public static bool SupportsImage(int images, int channels, int plane) =>
        channels % TensorCoreLayout.Depth == 0 && (long)images * channels * plane / ChannelBlocks.Width < int.MaxValue;

    public bool KContiguous => false;

    public bool CopiesDirectly => _direct;

    // The operand knows its own pixel: nothing to find per row.
    public CopySources Sources(int mn) => new(0, 0, 0, 0, false, false, false, false, mn);

    public Half8 Chunk(int mn, int k0)
    {
        var at = Locate(k0);
        return at.Inside ? _blocks[at.Block] : default;
    }

    public ChunkQuad Chunks(int mn, int k0)
    {
        var at = Locate(k0);
        return new(Block(at, 0), Block(at, 1), Block(at, 2), Block(at, 3));
    }

    /// <summary>The stage's four blocks of the tap by cp.async: one 64-bit address a stage, the others a plane on.</summary>
    public void CopyQuad(CopySources sources, int k0, ArrayView<Half8> shared, int first, int step)
    {
        var at = Locate(k0);
        long source = _address + 16L * (at.Inside ? at.Block : 0), plane = 16L * _plane;
        var copies = default(TC);
        copies.Chunk(shared, first, source, at.Inside);
        copies.Chunk(shared, first + step, source + plane, at.Inside);
        copies.Chunk(shared, first + 2 * step, source + 2 * plane, at.Inside);
        copies.Chunk(shared, first + 3 * step, source + 3 * plane, at.Inside);
    }

    private Half8 Block(BlockPosition at, int i) => at.Inside ? _blocks[at.Block + i * _plane] : default;

    /// <summary>The block of reduction index <paramref name="k0"/> (its channel is a multiple of 8: a shift finds its block).</summary>
    private BlockPosition Locate(int k0)
    {
        var tap = _taps.Locate(k0);
        return new(_origin + (tap.Channel >> 3) * _plane + _pixels.Of(tap), tap.Inside);
    }

    /// <param name="Block">The block of the chunk's first channel (meaningless outside the image).</param>
    /// <param name="Inside">Whether its tap lies inside the image.</param>
    private readonly record struct BlockPosition(int Block, bool Inside);
}
