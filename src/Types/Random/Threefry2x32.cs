namespace DataraxCkpt;

/// <summary>
/// The Threefry-2x32 block cipher with 20 rounds (Salmon et al., "Parallel Random Numbers: As Easy as
/// 1, 2, 3", SC'11), exactly as JAX's <c>threefry2x32</c> primitive computes it
/// (<c>jax/_src/prng.py</c>, <c>_threefry2x32_lowering</c>). Every JAX PRNG operation on a
/// <c>threefry2x32</c> key — seed, split, fold_in, random_bits — reduces to this function, so matching
/// it bit for bit is what makes <see cref="PrngKey"/> interchangeable with JAX keys.
/// </summary>
public static class Threefry2x32
{
    /// <summary>Skein's key-schedule parity constant; JAX and Random123 both use it for 32-bit words.</summary>
    private const uint Parity = 0x1BD11BDA;

    /// <summary>
    /// Encrypts the counter block (<paramref name="x0"/>, <paramref name="x1"/>) under the key
    /// (<paramref name="key0"/>, <paramref name="key1"/>).
    /// </summary>
    /// <param name="key0">First key word (JAX's <c>key1</c>, the high half of a 64-bit seed).</param>
    /// <param name="key1">Second key word.</param>
    /// <param name="x0">First counter word.</param>
    /// <param name="x1">Second counter word.</param>
    /// <returns>The two output words.</returns>
    public static (uint Y0, uint Y1) Hash(uint key0, uint key1, uint x0, uint x1)
    {
        // Three-word key schedule: the two key words plus their parity.
        var ks0 = key0;
        var ks1 = key1;
        var ks2 = key0 ^ key1 ^ Parity;

        x0 += ks0;
        x1 += ks1;

        // Five groups of four rounds; rotation constants alternate between the two sets of four that
        // Threefry-2x32 uses, and after each group a rotated subkey plus the group number is injected.
        // Written out (rather than looped over arrays) because it is the hot path of every shuffle.
        Group(ref x0, ref x1, 13, 15, 26, 6);
        x0 += ks1;
        x1 += ks2 + 1u;

        Group(ref x0, ref x1, 17, 29, 16, 24);
        x0 += ks2;
        x1 += ks0 + 2u;

        Group(ref x0, ref x1, 13, 15, 26, 6);
        x0 += ks0;
        x1 += ks1 + 3u;

        Group(ref x0, ref x1, 17, 29, 16, 24);
        x0 += ks1;
        x1 += ks2 + 4u;

        Group(ref x0, ref x1, 13, 15, 26, 6);
        x0 += ks2;
        x1 += ks0 + 5u;

        return (x0, x1);
    }

    private static void Group(ref uint x0, ref uint x1, int r0, int r1, int r2, int r3)
    {
        Round(ref x0, ref x1, r0);
        Round(ref x0, ref x1, r1);
        Round(ref x0, ref x1, r2);
        Round(ref x0, ref x1, r3);
    }

    // One MIX: add, rotate, xor (JAX's apply_round).
    private static void Round(ref uint x0, ref uint x1, int rotation)
    {
        x0 += x1;
        x1 = (x1 << rotation) | (x1 >> (32 - rotation));
        x1 ^= x0;
    }
}
