namespace Diffuser.Kernels.Random;

/// <summary>Four 32-bit words: a Philox counter or one block of its output.</summary>
public readonly struct PhiloxBlock(uint x0, uint x1, uint x2, uint x3)
{
    public readonly uint X0 = x0;
    public readonly uint X1 = x1;
    public readonly uint X2 = x2;
    public readonly uint X3 = x3;

    public override string ToString() => $"{X0:x8} {X1:x8} {X2:x8} {X3:x8}";
}

/// <summary>
/// The Philox4x32-10 counter-based generator (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011;
/// Random123's <c>philox4x32</c> with 10 rounds): a keyed bijection of a 128-bit counter. Integer operations only,
/// so the same counter and key give the same bits on every device.
/// </summary>
public static class Philox4x32
{
    private const uint Multiplier0 = 0xD2511F53, Multiplier1 = 0xCD9E8D57;
    private const uint Weyl0 = 0x9E3779B9, Weyl1 = 0xBB67AE85;
    private const int Rounds = 10;

    /// <summary>The output block for <paramref name="counter"/> under the key (<paramref name="key0"/>, <paramref name="key1"/>).</summary>
    public static PhiloxBlock Generate(PhiloxBlock counter, uint key0, uint key1)
    {
        uint c0 = counter.X0, c1 = counter.X1, c2 = counter.X2, c3 = counter.X3;
        for (int round = 0; round < Rounds; round++)
        {
            if (round > 0)
            {
                key0 += Weyl0;
                key1 += Weyl1;
            }
            ulong product0 = (ulong)Multiplier0 * c0;
            ulong product1 = (ulong)Multiplier1 * c2;
            uint next0 = (uint)(product1 >> 32) ^ c1 ^ key0;
            uint next2 = (uint)(product0 >> 32) ^ c3 ^ key1;
            c0 = next0;
            c1 = (uint)product1;
            c2 = next2;
            c3 = (uint)product0;
        }
        return new PhiloxBlock(c0, c1, c2, c3);
    }
}
