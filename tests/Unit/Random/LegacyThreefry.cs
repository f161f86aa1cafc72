namespace DataraxCkpt.Tests.PrngKeys; // not ".Random": that would hide System.Random in DataraxCkpt.Tests

/// <summary>
/// JAX's pre-0.5 ("original", <c>jax_threefry_partitionable = False</c>) split and random_bits, rebuilt
/// from <c>jax/_src/prng.py</c> (<c>_threefry_split_original</c>, <c>threefry_2x32</c>,
/// <c>_threefry_random_bits_original</c>). Not part of the engine: it exists only because the values
/// JAX printed for years were produced by this scheme, so reproducing them proves the cipher.
/// </summary>
internal static class LegacyThreefry
{
    /// <summary>
    /// The old <c>threefry_2x32(key, count)</c>: the flat counts (padded with a zero to even length) are
    /// cut into halves x0 and x1, hashed pairwise, and the outputs concatenated (all y0, then all y1).
    /// </summary>
    public static uint[] Hash(uint key0, uint key1, uint[] counts)
    {
        var half = (counts.Length + 1) / 2;
        var padded = new uint[half * 2];
        counts.CopyTo(padded, 0);
        var output = new uint[half * 2];
        for (var i = 0; i < half; i++)
        {
            var (y0, y1) = Threefry2x32.Hash(key0, key1, padded[i], padded[half + i]);
            output[i] = y0;
            output[half + i] = y1;
        }

        return output.AsSpan(0, counts.Length).ToArray();
    }

    /// <summary>The old <c>split</c>: hash iota(2n) and reshape to (n, 2).</summary>
    public static uint[][] Split(PrngKey key, int num)
    {
        var counts = Enumerable.Range(0, num * 2).Select(i => (uint)i).ToArray();
        var flat = Hash(key.KeyData[0], key.KeyData[1], counts);
        return Enumerable.Range(0, num).Select(i => new[] { flat[2 * i], flat[(2 * i) + 1] }).ToArray();
    }

    /// <summary>The old 32-bit <c>random_bits</c> for a small 1-D shape: hash iota(count).</summary>
    public static uint[] RandomBits32(PrngKey key, int count)
    {
        var counts = Enumerable.Range(0, count).Select(i => (uint)i).ToArray();
        return Hash(key.KeyData[0], key.KeyData[1], counts);
    }
}
