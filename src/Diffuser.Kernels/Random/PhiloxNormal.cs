namespace Diffuser.Kernels.Random;

/// <summary>
/// Counter-based standard normal noise: element <c>i</c> of draw <c>d</c> under seed <c>s</c> is a pure function
/// of (s, d, i), so a tensor can be filled in any order, on any device, with the same bits. Elements come in blocks
/// of four: block <c>i / 4</c> is Philox4x32-10 of the counter (block low, block high, d low, d high) under the key
/// (s low, s high), and its words (0, 1) and (2, 3) give two Box–Muller pairs (<see cref="FixedPointBoxMuller"/>).
/// </summary>
public static class PhiloxNormal
{
    /// <summary>The normal sample at <paramref name="index"/> of draw <paramref name="draw"/>.</summary>
    public static float Element(long index, ulong seed, ulong draw)
    {
        long block = index >> 2;
        var counter = new PhiloxBlock((uint)block, (uint)(block >> 32), (uint)draw, (uint)(draw >> 32));
        var bits = Philox4x32.Generate(counter, (uint)seed, (uint)(seed >> 32));
        long lane = index & 3;
        var pair = lane < 2 ? FixedPointBoxMuller.Transform(bits.X0, bits.X1) : FixedPointBoxMuller.Transform(bits.X2, bits.X3);
        return (lane & 1) == 0 ? pair.First : pair.Second;
    }
}
